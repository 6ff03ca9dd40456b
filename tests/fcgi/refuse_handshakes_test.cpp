// How a TCP socket fcgi-users opened itself turns new clients away on a stop
// (listen::refuse_new_handshakes), on real loopback sockets: a client whose
// handshake began before the stop is taken in, a new one never connects and
// is refused once the socket closes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fcgi/listen_socket.h"
#include "util/fd.h"

namespace {

sockaddr_in loopback_address(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return address;
}

// A listener (to own) on 127.0.0.1 (any port) whose clients' handshakes stay half done
// on its side until their first bytes arrive (TCP_DEFER_ACCEPT): the client's
// connect() has returned while its connection is not yet in the queue, as in
// the instant a stop signal comes between a SYN and the ACK that follows it.
int deferred_listener() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int seconds = 30;
    EXPECT_EQ(setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds), 0);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(fd, 16), 0);
    return fd;
}

// A client socket (to own) whose connect() has been started; `connected` tells
// whether it completed at once or is still in progress.
int start_connect(const sockaddr_in& to, bool& connected) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    connected = rc == 0;
    EXPECT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    return fd;
}

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

bool connect_finished(int fd, int timeout_ms) {
    pollfd p{fd, POLLOUT, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

TEST(RefuseNewHandshakes, AHandshakeBegunBeforeTheStopIsTakenIn) {
    fu::Fd listener(deferred_listener());
    sockaddr_in address = loopback_address(listener.get());
    bool connected = false;
    fu::Fd client(start_connect(address, connected));
    ASSERT_TRUE(connected || connect_finished(client.get(), 2000));
    ASSERT_FALSE(readable(listener.get(), 50)) << "the handshake should not be complete yet";

    ASSERT_TRUE(fu::listen::refuse_new_handshakes(listener.get())) << std::strerror(errno);
    // The first bytes complete the handshake on the listener's side: they
    // must pass the filter, and the connection join the queue.
    ASSERT_EQ(send(client.get(), "x", 1, MSG_NOSIGNAL), 1);
    ASSERT_TRUE(readable(listener.get(), 2000)) << "a connection begun before the stop was dropped";
    fu::Fd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(accepted.get(), 0);
    char byte = 0;
    ASSERT_EQ(recv(accepted.get(), &byte, 1, 0), 1);
    EXPECT_EQ(byte, 'x');
    ASSERT_EQ(send(accepted.get(), "y", 1, MSG_NOSIGNAL), 1);
    ASSERT_TRUE(readable(client.get(), 2000));
    ASSERT_EQ(recv(client.get(), &byte, 1, 0), 1);
    EXPECT_EQ(byte, 'y');
}

TEST(RefuseNewHandshakes, ANewClientNeverConnectsAndIsRefusedOnceTheSocketCloses) {
    fu::Fd listener(deferred_listener());
    sockaddr_in address = loopback_address(listener.get());
    ASSERT_TRUE(fu::listen::refuse_new_handshakes(listener.get())) << std::strerror(errno);

    bool connected = false;
    fu::Fd client(start_connect(address, connected));
    ASSERT_FALSE(connected);
    EXPECT_FALSE(connect_finished(client.get(), 300)) << "a handshake began after the stop";
    EXPECT_FALSE(readable(listener.get(), 0));

    listener.reset();
    // The SYN sent again (after 1 s) meets a closed port.
    ASSERT_TRUE(connect_finished(client.get(), 5000));
    int error = 0;
    socklen_t length = sizeof error;
    ASSERT_EQ(getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &length), 0);
    EXPECT_EQ(error, ECONNREFUSED) << std::strerror(error);
}

}  // namespace
