// One change and its hook events in one transaction (store/ only): begin,
// the change, the events, commit; a rollback on any failure but a lost
// connection (which has rolled back already).
#pragma once

#include <vector>

#include "model/hook_event.h"
#include "model/user.h"
#include "store/hook_event_store.h"
#include "util/result.h"
#include "wrap/mariadb.h"

namespace fu {

// `change` returns Result<Unit, db::DbError>.
template <typename F>
Result<Unit, db::DbError> in_transaction(db::Connection& conn, F&& change,
                                         const std::vector<HookEvent>& events) {
    if (auto b = conn.begin(); !b) return b.error();
    auto fail = [&conn](const Error<db::DbError>& e) -> Result<Unit, db::DbError> {
        if (e.code != db::DbError::unavailable) conn.rollback();
        return e;
    };
    if (auto r = change(); !r) return fail(r.error());
    HookEventStore hooks(conn);
    for (const auto& ev : events)
        if (auto r = hooks.insert(ev); !r) return fail(r.error());
    if (auto c = conn.commit(); !c) return fail(c.error());
    return Unit{};
}

}  // namespace fu
