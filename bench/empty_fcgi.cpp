// The FastCGI ceiling: the same libfcgi, socket kind and thread model as
// fcgi-users (N threads taking the next request under one mutex from
// fcgi::Connections: new and kept connections alike), answering a small JSON
// body and doing nothing else. Usage: bench_empty_fcgi SOCKET THREADS
#include <fcgiapp.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fcgi/connections.h"
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
    fu::fcgi::Connections connections(fd, -1);
    const std::string answer =
        "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        "15\r\n\r\n{\"status\":\"ok\"}";
    std::vector<std::thread> threads;
    for (int i = 0; i < std::atoi(argv[2]); ++i) {
        threads.emplace_back([&] {
            using Ready = fu::fcgi::Connections::Ready;
            for (;;) {
                Ready ready;
                {
                    std::lock_guard<std::mutex> lock(accept_mutex);
                    ready = connections.wait(-1);
                }
                if (ready.kind == Ready::failed) continue;
                std::unique_ptr<fu::fcgi::Request> slot = std::move(ready.connection);
                if (!slot) return;
                if (!fu::fcgi::Connections::resume(*slot)) {
                    connections.release(std::move(slot));
                    continue;
                }
                // As fcgi-users on a kept connection: the input read to its end.
                char sink[4096];
                while (FCGX_GetStr(sink, sizeof sink, slot->get()->in) > 0) {
                }
                FCGX_PutStr(answer.data(), static_cast<int>(answer.size()), slot->get()->out);
                FCGX_Finish_r(slot->get());
                connections.release(std::move(slot));
            }
        });
    }
    for (auto& t : threads) t.join();
}
