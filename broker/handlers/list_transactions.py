"""ListTransactions (66), versions 0-1 (``kafka-transactions.sh list``).

Every transactional id this broker coordinates, with its producer id and state. Filters (all must
match): ``state_filters`` by Kafka's state names (names it does not know are echoed in
``unknown_state_filters`` and match nothing), ``producer_id_filters``, and v1's ``duration_filter``
(ms: only transactions open at least that long). COORDINATOR_LOAD_IN_PROGRESS while a
``__transaction_state`` partition of this broker is loading.
"""

from __future__ import annotations

from broker.coordinator.transaction.state import TxnState
from broker.dispatcher import RequestContext, handles
from broker.handlers import _authz
from broker.handlers._transactions import txn_coordinator
from broker.security.acl import ResourceType as RT
from protocol.errors import ErrorCode
from protocol.messages.list_transactions import (
    LIST_TRANSACTIONS,
    ListTransactionsRequest,
    ListTransactionsResponse,
    TransactionState,
)


@handles(LIST_TRANSACTIONS, versions="0-1")
async def handle_list_transactions(ctx: RequestContext, request: ListTransactionsRequest) -> ListTransactionsResponse:
    coordinator = txn_coordinator(ctx)
    if coordinator.ownership.is_loading_any():
        return ListTransactionsResponse(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    states: set[TxnState] = set()
    unknown: list[str] = []
    for name in request.state_filters:
        state = TxnState.from_name(name)
        if state is None:
            unknown.append(name)
        else:
            states.add(state)
    if request.state_filters and not states:  # only unknown states asked for: nothing matches
        return ListTransactionsResponse(unknown_state_filters=unknown)
    found = coordinator.list_transactions(
        states or None, set(request.producer_id_filters) or None, request.duration_filter if ctx.version >= 1 else -1
    )
    return ListTransactionsResponse(
        unknown_state_filters=unknown,
        transaction_states=[
            TransactionState(
                transactional_id=m.transactional_id, producer_id=m.producer_id, transaction_state=m.state.name_
            )
            for m in sorted(found, key=lambda m: m.transactional_id)
            if _authz.allowed(ctx, RT.TRANSACTIONAL_ID, m.transactional_id)  # the others are left out
        ],
    )
