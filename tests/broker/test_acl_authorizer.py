"""The authorizer's decision against a small reference model of Kafka's AclAuthorizer (property-based),
and the ACL filters' matching: zero unauthorised successes, zero wrongful denials."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from broker.security.acl import (
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    Authorizer,
    PatternType,
    ResourcePattern,
    ResourceType,
    invalid_binding_reason,
    parse_super_users,
)

Op = AclOperation
TYPES = [ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID]
OPS = [op for op in Op if op not in (Op.UNKNOWN, Op.ANY)]
PRINCIPALS = ["User:alice", "User:bob", "User:*"]
HOSTS = ["10.0.0.1", "10.0.0.2", "*"]
NAMES = ["a", "ab", "abc", "b", "*", "kafka-cluster"]

bindings = st.builds(
    lambda t, n, p, who, host, op, perm: AclBinding(ResourcePattern(t, n, p), AccessControlEntry(who, host, op, perm)),
    st.sampled_from(TYPES),
    st.sampled_from(NAMES),
    st.sampled_from([PatternType.LITERAL, PatternType.PREFIXED]),
    st.sampled_from(PRINCIPALS),
    st.sampled_from(HOSTS),
    st.sampled_from(OPS),
    st.sampled_from([AclPermissionType.ALLOW, AclPermissionType.DENY]),
)


def reference(
    acls: list[AclBinding], supers: set[str], allow_empty: bool, who: str, host: str, op: AclOperation,
    rtype: ResourceType, name: str,
) -> bool:  # fmt: skip
    """Kafka's AclAuthorizer.authorize, written as plainly as possible."""
    if who in supers:
        return True

    def applies(b: AclBinding) -> bool:
        p = b.pattern
        if p.resource_type != rtype:
            return False
        if p.pattern_type == PatternType.LITERAL:
            return p.name == name or p.name == "*"
        return name.startswith(p.name)

    relevant = [b.entry for b in acls if applies(b)]
    if not relevant:
        return allow_empty

    def mine(e: AccessControlEntry, ops: set[AclOperation], perm: AclPermissionType) -> bool:
        return (
            e.permission_type == perm
            and e.principal in (who, "User:*")
            and e.host in (host, "*")
            and (e.operation in ops or e.operation == Op.ALL)
        )

    if any(mine(e, {op}, AclPermissionType.DENY) for e in relevant):
        return False
    ops = {op}
    if op == Op.DESCRIBE:
        ops |= {Op.READ, Op.WRITE, Op.DELETE, Op.ALTER}
    if op == Op.DESCRIBE_CONFIGS:
        ops |= {Op.ALTER_CONFIGS}
    return any(mine(e, ops, AclPermissionType.ALLOW) for e in relevant)


@settings(max_examples=300, deadline=None)
@given(
    acls=st.lists(bindings, max_size=8),
    supers=st.sets(st.sampled_from(["User:alice", "User:carol"]), max_size=1),
    allow_empty=st.booleans(),
    queries=st.lists(
        st.tuples(
            st.sampled_from(["User:alice", "User:bob", "User:carol"]),
            st.sampled_from(["10.0.0.1", "10.0.0.2"]),
            st.sampled_from(OPS),
            st.sampled_from(TYPES),
            st.sampled_from(["a", "ab", "abc", "abd", "b", "kafka-cluster"]),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_decisions_match_the_reference_model(
    acls: list[AclBinding],
    supers: set[str],
    allow_empty: bool,
    queries: list[tuple[str, str, AclOperation, ResourceType, str]],
) -> None:
    authorizer = Authorizer(supers, allow_empty)
    authorizer.replace(acls)
    for _ in range(2):  # the second round comes from the decision cache
        for who, host, op, rtype, name in queries:
            expected = reference(acls, supers, allow_empty, who, host, op, rtype, name)
            assert authorizer.authorize(who, host, op, rtype, name) == expected, (who, host, op, rtype, name)


@settings(max_examples=100, deadline=None)
@given(before=st.lists(bindings, max_size=6), after=st.lists(bindings, max_size=6))
def test_a_change_of_acls_drops_cached_decisions(before: list[AclBinding], after: list[AclBinding]) -> None:
    authorizer = Authorizer()
    authorizer.replace(before)
    for rtype in TYPES:
        authorizer.authorize("User:bob", "10.0.0.1", Op.READ, rtype, "ab")
    authorizer.replace(after)
    for rtype in TYPES:
        expected = reference(after, set(), False, "User:bob", "10.0.0.1", Op.READ, rtype, "ab")
        assert authorizer.authorize("User:bob", "10.0.0.1", Op.READ, rtype, "ab") == expected


def _filter(**kw: object) -> AclBindingFilter:
    values: dict[str, object] = dict(
        resource_type=ResourceType.ANY, name=None, pattern_type=PatternType.ANY, principal=None, host=None,
        operation=Op.ANY, permission_type=AclPermissionType.ANY,
    )  # fmt: skip
    values.update(kw)
    return AclBindingFilter(**values)  # type: ignore[arg-type]


def _b(name: str, pattern: PatternType) -> AclBinding:
    return AclBinding(
        ResourcePattern(ResourceType.TOPIC, name, pattern),
        AccessControlEntry("User:alice", "*", Op.READ, AclPermissionType.ALLOW),
    )


def test_match_filter_finds_literal_wildcard_and_prefixes() -> None:
    acls = [_b("abc", PatternType.LITERAL), _b("*", PatternType.LITERAL), _b("ab", PatternType.PREFIXED),
            _b("b", PatternType.PREFIXED), _b("abd", PatternType.LITERAL)]  # fmt: skip
    match = _filter(name="abc", pattern_type=PatternType.MATCH)
    assert [b.pattern.name for b in acls if match.matches(b)] == ["abc", "*", "ab"]
    any_ = _filter(name="ab", pattern_type=PatternType.ANY)
    assert [b.pattern for b in acls if any_.matches(b)] == [
        ResourcePattern(ResourceType.TOPIC, "ab", PatternType.PREFIXED)
    ]
    literal = _filter(pattern_type=PatternType.LITERAL)
    assert [b.pattern.name for b in acls if literal.matches(b)] == ["abc", "*", "abd"]
    assert _filter(resource_type=ResourceType.UNKNOWN).invalid_reason() is not None
    assert _filter(pattern_type=PatternType.UNKNOWN).invalid_reason() is not None


def test_creations_kafka_refuses() -> None:
    entry = AccessControlEntry("User:alice", "*", Op.READ, AclPermissionType.ALLOW)
    assert (
        invalid_binding_reason(AclBinding(ResourcePattern(ResourceType.TOPIC, "t", PatternType.LITERAL), entry)) is None
    )
    for pattern in (
        ResourcePattern(ResourceType.TOPIC, "", PatternType.LITERAL),
        ResourcePattern(ResourceType.CLUSTER, "other", PatternType.LITERAL),
        ResourcePattern(ResourceType.ANY, "t", PatternType.LITERAL),
        ResourcePattern(ResourceType.TOPIC, "t", PatternType.MATCH),
    ):
        assert invalid_binding_reason(AclBinding(pattern, entry)) is not None
    bad = AccessControlEntry("alice", "*", Op.READ, AclPermissionType.ALLOW)
    assert invalid_binding_reason(AclBinding(ResourcePattern(ResourceType.TOPIC, "t", PatternType.LITERAL), bad))
    assert parse_super_users("User:a; User:b;") == {"User:a", "User:b"}
