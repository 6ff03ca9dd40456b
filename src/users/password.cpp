// argon2id through libsodium, bcrypt through libcrypt, the hash slots, and
// the password policy.
#include "users/password.h"

#include <crypt.h>
#include <sodium.h>

#include <memory>

#include "users/hash_memory.h"
#include "users/hash_process.h"
#include "util/ascii.h"

namespace fu {
namespace {

// Holds one hash slot for the life of a scope.
class SlotGuard {
  public:
    explicit SlotGuard(std::counting_semaphore<4096>& s) : s_(s) { s_.acquire(); }
    ~SlotGuard() { s_.release(); }
    SlotGuard(const SlotGuard&) = delete;
    SlotGuard& operator=(const SlotGuard&) = delete;

  private:
    std::counting_semaphore<4096>& s_;
};

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

}  // namespace

PasswordHasher::PasswordHasher(long memory_kib, long iterations, long slots)
    : opslimit_(static_cast<unsigned long long>(iterations)),
      memlimit_(static_cast<size_t>(memory_kib) * 1024),
      slots_count_(slots),
      slots_(slots) {
    hash_memory::enable();  // before the dummy hash below, the first of the process
    unsigned char random[32];
    randombytes_buf(random, sizeof random);
    std::string pw(reinterpret_cast<char*>(random), sizeof random);
    dummy_hash_ = hash(pw);
    sodium_memzero(pw.data(), pw.size());
}

std::string PasswordHasher::hash(std::string_view password) const {
    SlotGuard slot(slots_);
    if (processes_) {
        if (auto done = processes_->hash(password, opslimit_, memlimit_)) return *done;
    }
    return argon2id_hash(password, opslimit_, memlimit_);
}

PasswordHasher::Verdict PasswordHasher::verify(std::string_view password,
                                               const std::string& hashed) const {
    SlotGuard slot(slots_);
    return verify_unlimited(password, hashed);
}

PasswordHasher::Verdict PasswordHasher::verify_unlimited(std::string_view password,
                                                         const std::string& hashed) const {
    if (processes_) {
        if (auto done = processes_->verify(password, hashed, opslimit_, memlimit_)) return *done;
    }
    return verify_password(password, hashed, opslimit_, memlimit_);
}

std::string argon2id_hash(std::string_view password, unsigned long long opslimit, size_t memlimit) {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), opslimit, memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return {};
    return out;
}

PasswordHasher::Verdict verify_password(std::string_view password, const std::string& hashed,
                                        unsigned long long opslimit, size_t memlimit) {
    PasswordHasher::Verdict v;
    if (starts_with(hashed, "$argon2id$")) {
        v.ok = crypto_pwhash_str_verify(hashed.c_str(), password.data(), password.size()) == 0;
        v.needs_rehash =
            v.ok && crypto_pwhash_str_needs_rehash(hashed.c_str(), opslimit, memlimit) != 0;
    } else if (starts_with(hashed, "$argon2i$")) {
        v.ok =
            crypto_pwhash_argon2i_str_verify(hashed.c_str(), password.data(), password.size()) == 0;
        v.needs_rehash = v.ok;
    } else if (starts_with(hashed, "$2b$") || starts_with(hashed, "$2a$") ||
               starts_with(hashed, "$2y$")) {
        // bcrypt, as passlib and FastAPI Users < 13 wrote it. bcrypt reads at most 72 bytes.
        auto data = std::make_unique<crypt_data>();
        std::string pw(password.substr(0, 72));
        const char* out = crypt_r(pw.c_str(), hashed.c_str(), data.get());
        sodium_memzero(pw.data(), pw.size());
        v.ok = out != nullptr && out[0] != '*' && std::string_view(out).size() == hashed.size() &&
               sodium_memcmp(out, hashed.data(), hashed.size()) == 0;
        v.needs_rehash = v.ok;
    }
    return v;
}

void PasswordHasher::verify_dummy(std::string_view password) const {
    (void)verify(password, dummy_hash_);
}

std::optional<std::string> password_problem(std::string_view password, std::string_view email,
                                            long min_length, long max_length) {
    long chars = 0;
    for (unsigned char c : password)
        if ((c & 0xC0) != 0x80) ++chars;
    if (chars < min_length)
        return "Password should be at least " + std::to_string(min_length) + " characters";
    if (chars > max_length)
        return "Password should be at most " + std::to_string(max_length) + " characters";
    if (!email.empty() && ascii::lowered(password).find(ascii::lowered(email)) != std::string::npos)
        return "Password should not contain e-mail";
    return std::nullopt;
}

}  // namespace fu
