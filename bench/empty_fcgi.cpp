// The FastCGI ceiling: the same libfcgi, socket kind and thread model as
// fcgi-users (N threads, FCGX_Accept_r under one mutex), answering a small
// JSON body and doing nothing else. Usage: bench_empty_fcgi SOCKET THREADS
#include <fcgiapp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wrap/fcgi.h"

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    FCGX_Init();
    unlink(argv[1]);
    int fd = FCGX_OpenSocket(argv[1], 1024);  // as fcgi-users' listen_backlog
    if (fd < 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, [](int) { _exit(0); });
    std::mutex accept_mutex;
    const std::string answer =
        "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        "15\r\n\r\n{\"status\":\"ok\"}";
    std::vector<std::thread> threads;
    for (int i = 0; i < std::atoi(argv[2]); ++i) {
        threads.emplace_back([&] {
            fu::fcgi::Request slot(fd);
            for (;;) {
                int rc;
                {
                    std::lock_guard<std::mutex> lock(accept_mutex);
                    rc = FCGX_Accept_r(slot.get());
                }
                if (rc < 0) break;
                FCGX_PutStr(answer.data(), static_cast<int>(answer.size()), slot.get()->out);
                FCGX_Finish_r(slot.get());
            }
        });
    }
    for (auto& t : threads) t.join();
}
