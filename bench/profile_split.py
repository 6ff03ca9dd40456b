"""Splits a perf profile of fcgi-users (perf record -g -p PID, cpu-clock)
into the parts of an authenticated request: reads `perf script` output on
stdin and assigns each sample to the first frame, from the leaf up, that
names a part; kernel time is split by the part that made the system call.
Prints the share of each part. Used for bench/README.md's profile table."""
import re
import sys
from collections import Counter

PARTS = [  # (part, pattern over "symbol (dso)"), the first match from the leaf up wins
    ("JWT check", r"JwtCodec|jwt|base642bin|crypto_auth|hmacsha256|sha256"),
    ("query (client side)", r"fu::db::|libmariadb|mysql_|SessionStore|TokenStore|to_user"),
    ("JSON answer", r"user_response|serialize|cJSON_Print|print_value|json_text|Response"),
    ("FastCGI exchange", r"FCGX_|libfcgi|read_params|request_from_params|respond|write_all|accept|wait_for_connection|Router"),
    ("metrics, logging", r"Metrics|log::"),
]


def main():
    counts = Counter()
    kernel = Counter()
    total = 0
    stack = []

    def flush():
        nonlocal total
        if not stack:
            return
        total += 1
        in_kernel = "kernel" in stack[0]
        part = "other (libc malloc/free, threads)"
        for frame in stack:
            if "kernel" in frame:
                continue
            for name, pattern in PARTS:
                if re.search(pattern, frame):
                    part = name
                    break
            else:
                continue
            break
        counts[part] += 1
        if in_kernel:
            kernel[part] += 1

    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            stack = []
        elif line.startswith((" ", "\t")):
            stack.append(line.strip())
    flush()
    print(f"{'part':<36} {'share':>6} {'of which kernel':>16}")
    for part, n in counts.most_common():
        print(f"{part:<36} {100 * n / total:>5.1f}% {100 * kernel[part] / total:>15.1f}%")
    print(f"{'kernel, all parts':<36} {100 * sum(kernel.values()) / total:>5.1f}%")


if __name__ == "__main__":
    main()
