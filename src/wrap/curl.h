// RAII owners for libcurl: curl::Easy owns a CURL handle, curl::Slist a header list.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace fu::curl {

struct EasyDeleter {
    void operator()(CURL* p) const { curl_easy_cleanup(p); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* p) const { curl_slist_free_all(p); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init/cleanup for the life of the program; one in main, before any thread.
class Library {
  public:
    Library() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~Library() { curl_global_cleanup(); }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
};

}  // namespace fu::curl
