// Statement texts with an IN list of n markers ("... IN (?, ..., ?) ..."),
// one constant text per n, so that a connection prepares each once: the
// group reads' statements (SessionStore::find_users, TokenStore::find_users).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fu {

class InListTexts {
  public:
    // before + "(?, ..., ?)" + after, for 1 to max markers.
    InListTexts(const std::string& before, const std::string& after, std::size_t max)
        : texts_(max + 1) {
        for (std::size_t n = 1; n <= max; ++n) {
            std::string& t = texts_[n];
            t = before + "(?";
            for (std::size_t i = 1; i < n; ++i) t += ", ?";
            t += ")" + after;
        }
    }
    // The text with n markers (1 to max; std::out_of_range otherwise).
    const std::string& operator()(std::size_t n) const {
        return texts_.at(n == 0 ? texts_.size() : n);
    }

  private:
    std::vector<std::string> texts_;
};

}  // namespace fu
