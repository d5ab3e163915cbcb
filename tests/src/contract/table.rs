use serde_json::{json, Value};
use trickle_app::ports::table::{
    Condition, Index, Item, Key, Query, SortKeyCondition, Table, TableError, TxOp, Update,
};

use crate::fixtures::Fixture;

type F = Fixture<dyn Table>;

pub fn item(pk: &str, sk: &str, extra: Value) -> Item {
    let mut item = extra.as_object().cloned().unwrap_or_default();
    item.insert("pk".into(), pk.into());
    item.insert("sk".into(), sk.into());
    item
}

fn sks(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["sk"].as_str().unwrap().to_string())
        .collect()
}

fn past() -> i64 {
    chrono::Utc::now().timestamp() - 60
}

fn future() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

pub async fn put_then_get_round_trips_every_json_type(f: &F) {
    let t = &f.port;
    let stored = item(
        "P",
        "S",
        json!({"s": "José 🏡", "i": 42, "neg": -7, "f": 2.5, "b": false, "n": null,
               "l": [1, "a", {"x": true}], "m": {"nested": {"deep": [1, 2]}}, "empty": ""}),
    );
    t.put(stored.clone(), None).await.unwrap();
    assert_eq!(t.get(&Key::new("P", "S")).await.unwrap(), Some(stored));
    assert_eq!(t.get(&Key::new("P", "other")).await.unwrap(), None);
}

/// Many reads at once answer in the order asked, repeats and absent keys included, past the
/// hundred keys one DynamoDB BatchGetItem takes, and without expired items.
pub async fn get_many_answers_in_order_across_batches(f: &F) {
    let t = &f.port;
    for n in 0..150 {
        t.put(item("MANY", &format!("{n:03}"), json!({"n": n})), None)
            .await
            .unwrap();
    }
    t.put(item("MANY", "gone", json!({"expires_at": past()})), None)
        .await
        .unwrap();
    let mut keys: Vec<Key> = (0..150)
        .rev()
        .map(|n| Key::new("MANY", format!("{n:03}")))
        .collect();
    keys.insert(10, Key::new("MANY", "absent"));
    keys.insert(20, Key::new("MANY", "gone"));
    keys.push(Key::new("MANY", "007"));
    let got = t.get_many(&keys).await.unwrap();
    assert_eq!(got.len(), keys.len());
    for (key, found) in keys.iter().zip(&got) {
        match key.sk.as_str() {
            "absent" | "gone" => assert_eq!(found, &None, "{key:?}"),
            sk => assert_eq!(
                found.as_ref().map(|i| i["n"].clone()),
                Some(json!(sk.parse::<i64>().unwrap())),
                "{key:?}"
            ),
        }
    }
    assert_eq!(t.get_many(&[]).await.unwrap(), Vec::<Option<Item>>::new());
}

pub async fn put_without_condition_replaces_the_whole_item(f: &F) {
    let t = &f.port;
    t.put(item("P", "S", json!({"a": 1, "b": 2})), None)
        .await
        .unwrap();
    t.put(item("P", "S", json!({"a": 3})), None).await.unwrap();
    let got = t.get(&Key::new("P", "S")).await.unwrap().unwrap();
    assert_eq!(got.get("a"), Some(&json!(3)));
    assert_eq!(got.get("b"), None);
}

pub async fn put_if_absent_refuses_the_second_writer(f: &F) {
    let t = &f.port;
    let cond = Some(Condition::ItemAbsent);
    t.put(item("P", "S", json!({"who": "first"})), cond.clone())
        .await
        .unwrap();
    let err = t
        .put(item("P", "S", json!({"who": "second"})), cond)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TableError::ConditionFailed {
            pk: "P".into(),
            sk: "S".into()
        }
    );
    let kept = t.get(&Key::new("P", "S")).await.unwrap().unwrap();
    assert_eq!(kept["who"], json!("first"));
}

pub async fn conditions_compare_like_dynamodb(f: &F) {
    let t = &f.port;
    t.put(
        item("P", "S", json!({"state": "PLANNED", "n": 5, "lease": 100})),
        None,
    )
    .await
    .unwrap();
    let key = Key::new("P", "S");
    let cases: Vec<(Condition, bool)> = vec![
        (Condition::ItemExists, true),
        (Condition::ItemAbsent, false),
        (Condition::equals("state", "PLANNED"), true),
        (Condition::equals("state", "SENT"), false),
        (Condition::equals("n", 5), true),
        (Condition::equals("n", "5"), false),
        (Condition::NotEquals("state".into(), json!("SENT")), true),
        (Condition::NotEquals("missing".into(), json!("x")), true),
        (
            Condition::NotEquals("state".into(), json!("PLANNED")),
            false,
        ),
        (Condition::less_than("lease", 101), true),
        (Condition::less_than("lease", 100), false),
        (Condition::GreaterThan("n".into(), json!(4)), true),
        (Condition::GreaterThan("missing".into(), json!(4)), false),
        (Condition::AttrExists("lease".into()), true),
        (Condition::AttrAbsent("lease".into()), false),
        (Condition::AttrAbsent("missing".into()), true),
        (
            Condition::All(vec![
                Condition::equals("state", "PLANNED"),
                Condition::less_than("n", 6),
            ]),
            true,
        ),
        (
            Condition::All(vec![
                Condition::equals("state", "PLANNED"),
                Condition::less_than("n", 5),
            ]),
            false,
        ),
        (
            Condition::Any(vec![
                Condition::equals("state", "SENT"),
                Condition::less_than("n", 6),
            ]),
            true,
        ),
        (
            Condition::Any(vec![
                Condition::equals("state", "SENT"),
                Condition::AttrExists("x".into()),
            ]),
            false,
        ),
        // Compound conditions nest inside others (the send worker's opt-out check).
        (
            Condition::Any(vec![
                Condition::ItemAbsent,
                Condition::NotEquals("state".into(), json!("PLANNED")),
            ]),
            false,
        ),
        (
            Condition::Any(vec![
                Condition::ItemAbsent,
                Condition::NotEquals("state".into(), json!("SENT")),
            ]),
            true,
        ),
        (
            Condition::All(vec![
                Condition::ItemExists,
                Condition::NotEquals("missing".into(), json!(1)),
            ]),
            true,
        ),
        (
            Condition::Any(vec![
                Condition::All(vec![
                    Condition::ItemExists,
                    Condition::equals("state", "PLANNED"),
                ]),
                Condition::ItemAbsent,
            ]),
            true,
        ),
    ];
    for (i, (condition, holds)) in cases.into_iter().enumerate() {
        let result = t
            .update(
                &key,
                Update::new().set("probe", i as i64),
                Some(condition.clone()),
            )
            .await;
        assert_eq!(
            result.is_ok(),
            holds,
            "case {i}: {condition:?} gave {result:?}"
        );
        if !holds {
            assert!(matches!(result, Err(TableError::ConditionFailed { .. })));
        }
    }
}

pub async fn update_sets_removes_adds_and_returns_the_new_item(f: &F) {
    let t = &f.port;
    let key = Key::new("P", "S");
    let created = t
        .update(
            &key,
            Update::new().set("state", "NEW").add("count", 2),
            None,
        )
        .await
        .unwrap();
    assert_eq!(created["pk"], json!("P"));
    assert_eq!(created["count"], json!(2));
    let updated = t
        .update(
            &key,
            Update::new()
                .set("note", json!({"a": [1]}))
                .remove("state")
                .add("count", -5),
            Some(Condition::ItemExists),
        )
        .await
        .unwrap();
    assert_eq!(updated["count"], json!(-3));
    assert_eq!(updated.get("state"), None);
    assert_eq!(updated["note"], json!({"a": [1]}));
    assert_eq!(t.get(&key).await.unwrap(), Some(updated));
}

pub async fn update_with_a_failing_condition_changes_nothing(f: &F) {
    let t = &f.port;
    let key = Key::new("P", "S");
    let err = t
        .update(&key, Update::new().set("a", 1), Some(Condition::ItemExists))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed { .. }));
    assert_eq!(t.get(&key).await.unwrap(), None);
}

pub async fn invalid_requests_are_refused(f: &F) {
    let t = &f.port;
    let mut no_key = Item::new();
    no_key.insert("pk".into(), json!("P"));
    assert!(matches!(
        t.put(no_key, None).await,
        Err(TableError::Invalid(_))
    ));
    let key = Key::new("P", "S");
    assert!(matches!(
        t.update(&key, Update::new(), None).await,
        Err(TableError::Invalid(_))
    ));
    assert!(matches!(
        t.update(&key, Update::new().set("pk", "x"), None).await,
        Err(TableError::Invalid(_))
    ));
    t.put(item("P", "S", json!({"text": "x"})), None)
        .await
        .unwrap();
    assert!(matches!(
        t.update(&key, Update::new().add("text", 1), None).await,
        Err(TableError::Invalid(_))
    ));
    let bad_cursor = Query::partition("P").after(Some("not-a-cursor!".into()));
    assert!(matches!(
        t.query(bad_cursor).await,
        Err(TableError::Invalid(_))
    ));
}

pub async fn delete_honours_its_condition_and_absent_is_fine(f: &F) {
    let t = &f.port;
    let key = Key::new("P", "S");
    t.put(item("P", "S", json!({"state": "A"})), None)
        .await
        .unwrap();
    let err = t
        .delete(&key, Some(Condition::equals("state", "B")))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed { .. }));
    assert!(t.get(&key).await.unwrap().is_some());
    t.delete(&key, Some(Condition::equals("state", "A")))
        .await
        .unwrap();
    assert_eq!(t.get(&key).await.unwrap(), None);
    t.delete(&key, None).await.unwrap();
}

async fn seed_sort_keys(t: &dyn Table) {
    for sk in ["A#1", "A#2", "A#3", "A#4", "B#1", "B#2", "a#1"] {
        t.put(item("Q", sk, json!({})), None).await.unwrap();
    }
    t.put(item("OTHER", "A#1", json!({})), None).await.unwrap();
}

pub async fn query_filters_sort_keys_in_both_directions(f: &F) {
    let t = f.port.as_ref();
    seed_sort_keys(t).await;
    let run = |sk: SortKeyCondition, forward: bool| {
        let mut q = Query::partition("Q").sk(sk);
        q.forward = forward;
        async move { sks(&t.query(q).await.unwrap().items) }
    };
    let s = |v: &str| v.to_string();
    assert_eq!(
        run(SortKeyCondition::Any, true).await,
        ["A#1", "A#2", "A#3", "A#4", "B#1", "B#2", "a#1"]
    );
    assert_eq!(
        run(SortKeyCondition::BeginsWith(s("A#")), true).await,
        ["A#1", "A#2", "A#3", "A#4"]
    );
    assert_eq!(
        run(SortKeyCondition::BeginsWith(s("A#")), false).await,
        ["A#4", "A#3", "A#2", "A#1"]
    );
    assert_eq!(
        run(SortKeyCondition::Between(s("A#2"), s("B#1")), true).await,
        ["A#2", "A#3", "A#4", "B#1"]
    );
    assert_eq!(
        run(SortKeyCondition::GreaterThan(s("B#1")), true).await,
        ["B#2", "a#1"]
    );
    assert_eq!(
        run(SortKeyCondition::GreaterOrEqual(s("B#1")), true).await,
        ["B#1", "B#2", "a#1"]
    );
    assert_eq!(
        run(SortKeyCondition::LessThan(s("A#3")), false).await,
        ["A#2", "A#1"]
    );
    assert_eq!(
        run(SortKeyCondition::LessOrEqual(s("A#3")), true).await,
        ["A#1", "A#2", "A#3"]
    );
    assert_eq!(run(SortKeyCondition::Equals(s("B#2")), true).await, ["B#2"]);
    assert!(run(SortKeyCondition::BeginsWith(s("C")), true)
        .await
        .is_empty());
}

pub async fn query_pages_cover_everything_once_in_order(f: &F) {
    let t = &f.port;
    let expected: Vec<String> = (0..23).map(|i| format!("ITEM#{i:03}")).collect();
    for sk in &expected {
        t.put(item("PAGED", sk, json!({})), None).await.unwrap();
    }
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let mut q = Query::partition("PAGED").limit(5).after(cursor);
            q.forward = forward;
            let page = t.query(q).await.unwrap();
            assert!(page.items.len() <= 5);
            seen.extend(sks(&page.items));
            pages += 1;
            assert!(pages < 10, "paging does not end");
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut want = expected.clone();
        if !forward {
            want.reverse();
        }
        assert_eq!(seen, want, "forward = {forward}");
    }
}

pub async fn secondary_index_is_sparse_ordered_and_paged(f: &F) {
    let t = &f.port;
    // Equal index sort keys on purpose: ties must still page without loss or repeat.
    for (pk, due) in [
        ("C#1", "2026-01-02"),
        ("C#2", "2026-01-01"),
        ("C#3", "2026-01-02"),
        ("C#4", "2026-01-03"),
    ] {
        t.put(
            item(pk, "META", json!({"gsi2pk": "DUE#active", "gsi2sk": due})),
            None,
        )
        .await
        .unwrap();
    }
    t.put(item("C#5", "META", json!({"state": "draft"})), None)
        .await
        .unwrap();
    t.put(
        item(
            "C#6",
            "META",
            json!({"gsi2pk": "DUE#paused", "gsi2sk": "2026-01-01"}),
        ),
        None,
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = t
            .query(
                Query::on_index(Index::Gsi2, "DUE#active")
                    .limit(1)
                    .after(cursor),
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|i| {
            (
                i["gsi2sk"].as_str().unwrap().to_string(),
                i["pk"].as_str().unwrap().to_string(),
            )
        }));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(seen.len() <= 4, "paging repeats items: {seen:?}");
    }
    let dates: Vec<&str> = seen.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        dates,
        ["2026-01-01", "2026-01-02", "2026-01-02", "2026-01-03"]
    );
    let mut pks: Vec<&str> = seen.iter().map(|(_, p)| p.as_str()).collect();
    pks.sort();
    assert_eq!(pks, ["C#1", "C#2", "C#3", "C#4"]);
    let due_by_jan_2 = t
        .query(
            Query::on_index(Index::Gsi2, "DUE#active")
                .sk(SortKeyCondition::LessOrEqual("2026-01-02".into()))
                .backward(),
        )
        .await
        .unwrap();
    assert_eq!(due_by_jan_2.items.len(), 3);
    assert_eq!(due_by_jan_2.items[0]["gsi2sk"], json!("2026-01-02"));
    // Moving an item out of the index is an update that removes its index keys.
    t.update(
        &Key::new("C#4", "META"),
        Update::new().remove("gsi2pk").remove("gsi2sk"),
        None,
    )
    .await
    .unwrap();
    let left = t
        .query(Query::on_index(Index::Gsi2, "DUE#active"))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 3);
}

pub async fn transaction_is_all_or_nothing_and_names_the_failed_condition(f: &F) {
    let t = &f.port;
    t.put(
        item(
            "CAMPAIGN#1",
            "META",
            json!({"state": "active", "cursor": 0}),
        ),
        None,
    )
    .await
    .unwrap();
    let plan = |cursor_was: i64, contact: &str| {
        vec![
            TxOp::Put {
                item: item(
                    "CAMPAIGN#1",
                    &format!("SEND#{contact}"),
                    json!({"state": "PLANNED"}),
                ),
                condition: Some(Condition::ItemAbsent),
            },
            TxOp::Update {
                key: Key::new("CAMPAIGN#1", "META"),
                update: Update::new().add("cursor", 1),
                condition: Some(Condition::equals("cursor", cursor_was)),
            },
        ]
    };
    t.transact(plan(0, "c1")).await.unwrap();
    let err = t.transact(plan(0, "c2")).await.unwrap_err();
    assert_eq!(err, TableError::TransactionCancelled { failed: vec![1] });
    assert_eq!(
        t.get(&Key::new("CAMPAIGN#1", "SEND#c2")).await.unwrap(),
        None
    );
    let err = t.transact(plan(1, "c1")).await.unwrap_err();
    assert_eq!(err, TableError::TransactionCancelled { failed: vec![0] });
    let meta = t
        .get(&Key::new("CAMPAIGN#1", "META"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta["cursor"], json!(1));

    t.transact(vec![
        TxOp::Check {
            key: Key::new("CAMPAIGN#1", "META"),
            condition: Condition::equals("state", "active"),
        },
        TxOp::Delete {
            key: Key::new("CAMPAIGN#1", "SEND#c1"),
            condition: Some(Condition::equals("state", "PLANNED")),
        },
        TxOp::Put {
            item: item("CAMPAIGN#1", "SEND#c3", json!({"state": "PLANNED"})),
            condition: None,
        },
    ])
    .await
    .unwrap();
    assert_eq!(
        t.get(&Key::new("CAMPAIGN#1", "SEND#c1")).await.unwrap(),
        None
    );
    assert!(t
        .get(&Key::new("CAMPAIGN#1", "SEND#c3"))
        .await
        .unwrap()
        .is_some());

    let err = t
        .transact(vec![
            TxOp::Check {
                key: Key::new("CAMPAIGN#1", "META"),
                condition: Condition::equals("state", "paused"),
            },
            TxOp::Put {
                item: item("CAMPAIGN#1", "SEND#c4", json!({})),
                condition: None,
            },
        ])
        .await
        .unwrap_err();
    assert_eq!(err, TableError::TransactionCancelled { failed: vec![0] });
    assert_eq!(
        t.get(&Key::new("CAMPAIGN#1", "SEND#c4")).await.unwrap(),
        None
    );
}

pub async fn transaction_refuses_one_key_twice(f: &F) {
    let t = &f.port;
    let err = t
        .transact(vec![
            TxOp::Put {
                item: item("P", "S", json!({})),
                condition: None,
            },
            TxOp::Update {
                key: Key::new("P", "S"),
                update: Update::new().set("a", 1),
                condition: None,
            },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::Invalid(_)));
    assert!(matches!(
        t.transact(vec![]).await,
        Err(TableError::Invalid(_))
    ));
}

pub async fn expired_items_are_invisible_and_count_as_absent(f: &F) {
    let t = &f.port;
    t.put(item("CACHE", "old", json!({"expires_at": past()})), None)
        .await
        .unwrap();
    t.put(item("CACHE", "new", json!({"expires_at": future()})), None)
        .await
        .unwrap();
    assert_eq!(t.get(&Key::new("CACHE", "old")).await.unwrap(), None);
    assert!(t.get(&Key::new("CACHE", "new")).await.unwrap().is_some());
    let listed = t.query(Query::partition("CACHE")).await.unwrap();
    assert_eq!(sks(&listed.items), ["new"]);
    // An expired guard no longer blocks a conditional put.
    t.put(
        item("CACHE", "old", json!({"fresh": true})),
        Some(Condition::ItemAbsent),
    )
    .await
    .unwrap();
    let err = t
        .put(item("CACHE", "new", json!({})), Some(Condition::ItemAbsent))
        .await
        .unwrap_err();
    assert!(matches!(err, TableError::ConditionFailed { .. }));
}

pub async fn concurrent_conditional_writers_have_one_winner(f: &F) {
    let mut tasks = Vec::new();
    for i in 0..8 {
        let t = f.port.clone();
        tasks.push(tokio::spawn(async move {
            t.put(
                item("RACE", "GUARD", json!({"winner": i})),
                Some(Condition::ItemAbsent),
            )
            .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(e) => assert!(matches!(e, TableError::ConditionFailed { .. }), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

/// DynamoDB's limits, refused by both adapters the same way: an item over 400 KB (written or
/// grown by an update), a transaction over 4 MB. `rules::pack` keeps batches inside them.
pub async fn items_and_transactions_over_dynamodb_limits_are_refused(f: &F) {
    use trickle_app::ports::table::{rules, MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES};
    let t = &f.port;
    let text = |bytes: usize| "x".repeat(bytes);
    t.put(item("L", "fits", json!({"body": text(390 * 1024)})), None)
        .await
        .unwrap();
    let over = t
        .put(
            item("L", "over", json!({"body": text(MAX_ITEM_BYTES)})),
            None,
        )
        .await;
    assert!(matches!(over, Err(TableError::Invalid(_))), "{over:?}");
    assert_eq!(t.get(&Key::new("L", "over")).await.unwrap(), None);
    let grown = t
        .update(
            &Key::new("L", "fits"),
            Update::new().set("more", text(20 * 1024)),
            None,
        )
        .await;
    assert!(matches!(grown, Err(TableError::Invalid(_))), "{grown:?}");
    let kept = t.get(&Key::new("L", "fits")).await.unwrap().unwrap();
    assert!(
        kept.get("more").is_none(),
        "a refused update changes nothing"
    );

    let groups: Vec<Vec<TxOp>> = (0..12)
        .map(|i| {
            vec![TxOp::Put {
                item: item("T", &format!("{i:02}"), json!({"body": text(350 * 1024)})),
                condition: None,
            }]
        })
        .collect();
    let whole: Vec<TxOp> = groups.iter().flatten().cloned().collect();
    assert!(whole.iter().map(rules::op_bytes).sum::<usize>() > MAX_TRANSACTION_BYTES);
    let refused = t.transact(whole).await;
    assert!(
        matches!(refused, Err(TableError::Invalid(_))),
        "{refused:?}"
    );
    let none = t.query(Query::partition("T")).await.unwrap();
    assert!(
        none.items.is_empty(),
        "a refused transaction writes nothing"
    );
    let packed = rules::pack(groups);
    assert_eq!(packed.len(), 2, "11 items of 350 KB fit in one transaction");
    for ops in packed {
        t.transact(ops).await.unwrap();
    }
    // A query page holds at most 1 MB, so the items come back over several pages.
    let (mut stored, mut cursor) = (0, None);
    loop {
        let page = t.query(Query::partition("T").after(cursor)).await.unwrap();
        stored += page.items.len();
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(stored, 12);
}
