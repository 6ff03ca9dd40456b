// The durable-insert ceiling: single-row INSERTs with autocommit into the
// private MariaDB at its configured durability, one connection per thread.
// Usage: bench_durable_insert SOCKET USER PASSWORD_FILE DATABASE THREADS SECONDS
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "db_settings.h"
#include "wrap/mariadb.h"

int main(int argc, char** argv) {
    if (argc != 7) return 2;
    fu::db::Settings s = bench_db_settings(argv);
    mysql_library_init(0, nullptr, nullptr);
    {
        fu::db::Connection c(s);
        if (!c.run("CREATE TABLE IF NOT EXISTS bench_insert (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                   "v VARCHAR(64) NOT NULL) ENGINE=InnoDB"))
            return 1;
    }
    std::atomic<long> done{0};
    std::atomic<bool> stop{false};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < std::atoi(argv[5]); ++i)
        pool.emplace_back([&] {
            mysql_thread_init();
            {
                fu::db::Connection c(s);
                while (!stop.load())
                    if (c.exec("INSERT INTO bench_insert (v) VALUES (?)", {std::string_view("x")}))
                        done.fetch_add(1);
            }
            mysql_thread_end();
        });
    std::this_thread::sleep_for(std::chrono::seconds(std::atol(argv[6])));
    stop.store(true);
    for (auto& t : pool) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    {
        fu::db::Connection c(s);
        (void)c.run("DROP TABLE bench_insert");
    }
    mysql_library_end();
    std::printf("%.1f\n", static_cast<double>(done.load()) / secs);
}
