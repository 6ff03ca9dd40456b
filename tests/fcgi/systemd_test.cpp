// The systemd side of src/fcgi: the socket passed as LISTEN_FDS and the
// sd_notify datagram, against real sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "config/config.h"
#include "fcgi/listen_socket.h"
#include "fcgi/notify.h"

namespace {

// Puts a socket on descriptor 3 for one test and gives back what was there.
class Descriptor3 {
  public:
    explicit Descriptor3(bool listening) {
        saved_ = dup(3);  // -1 when 3 was closed
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (listening) {
            bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t));  // autobind
            listen(fd, 4);
        }
        dup2(fd, 3);
        close(fd);
    }
    ~Descriptor3() {
        if (saved_ >= 0) {
            dup2(saved_, 3);
            close(saved_);
        } else {
            close(3);
        }
    }

  private:
    int saved_;
};

void set_listen_env(const std::string& pid, const std::string& fds) {
    setenv("LISTEN_PID", pid.c_str(), 1);
    setenv("LISTEN_FDS", fds.c_str(), 1);
    setenv("LISTEN_FDNAMES", "fcgi-users.socket", 1);
}

TEST(SystemdSocket, TakesDescriptor3AndHidesTheVariablesFromHooks) {
    Descriptor3 d(true);
    set_listen_env(std::to_string(getpid()), "1");
    EXPECT_EQ(fu::listen::systemd_socket(), 3);
    EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
    EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
    EXPECT_EQ(std::getenv("LISTEN_FDNAMES"), nullptr);
    EXPECT_NE(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
}

TEST(SystemdSocket, VariablesOfAnotherProcessAreNotOurs) {
    set_listen_env(std::to_string(getpid() + 1), "1");
    EXPECT_EQ(fu::listen::systemd_socket(), -1);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    EXPECT_EQ(fu::listen::systemd_socket(), -1);
}

TEST(SystemdSocket, MoreThanOneSocketOrANonListeningOneIsAConfigurationError) {
    Descriptor3 d(false);
    set_listen_env(std::to_string(getpid()), "2");
    try {
        fu::listen::systemd_socket();
        FAIL() << "no error";
    } catch (const fu::ConfigError& e) {
        EXPECT_EQ(e.key(), "listen");
        EXPECT_NE(std::string(e.what()).find("LISTEN_FDS=2"), std::string::npos);
    }
    set_listen_env(std::to_string(getpid()), "1");
    EXPECT_THROW(fu::listen::systemd_socket(), fu::ConfigError);
}

std::string receive_notification(const std::string& name_in_env, sockaddr_un addr, socklen_t len) {
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    setenv("NOTIFY_SOCKET", name_in_env.c_str(), 1);
    fu::notify::send("READY=1");
    unsetenv("NOTIFY_SOCKET");
    char buf[64] = {};
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    close(fd);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(Notify, SendsOneDatagramToAPathOrAnAbstractName) {
    std::string path = testing::TempDir() + "fcgi-users-notify-" + std::to_string(getpid());
    unlink(path.c_str());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(receive_notification(path, addr, sizeof addr), "READY=1");
    unlink(path.c_str());

    std::string name = "fcgi-users-notify-test-" + std::to_string(getpid());
    sockaddr_un abstract{};
    abstract.sun_family = AF_UNIX;
    std::memcpy(abstract.sun_path + 1, name.data(), name.size());  // sun_path[0] = '\0'
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    EXPECT_EQ(receive_notification("@" + name, abstract, len), "READY=1");
}

}  // namespace
