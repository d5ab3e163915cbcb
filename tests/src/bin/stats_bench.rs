//! Stats latency: a campaign's numbers read from its counters, against a recount of every send,
//! on the embedded store; and the insights of 90 days.
//!
//! ```sh
//! cargo run --release -p trickle-tests --bin stats_bench -- [--sends 100000] [--reads 50]
//! ```
//! The campaign's sends are written straight to the store (a mix of planned, sent, delivered,
//! replied, opted-out and failed, over 30 days, in New York and Los Angeles), with the counters
//! their contributions add up to, as the send and webhook paths would have left them. Prints
//! the median and the slowest of `--reads` stats reads, one recount, whether they agree, and
//! the best-time and overview reads.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use trickle_app::campaigns::{self, keys, stats, SendRecord};
use trickle_app::ports::table::{TxOp, Update};
use trickle_app::{insights, records, send_counters};
use trickle_domain::campaign::counts::{self, FailureKind, LocalSendTime};
use trickle_domain::campaign::{RawCampaign, RawSchedule, SendState, Variant};
use trickle_tests::campaign_world::{utc, World};

fn args() -> (u64, usize) {
    let (mut sends, mut reads) = (100_000u64, 50usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--sends" => sends = value.parse().expect("--sends N"),
            "--reads" => reads = value.parse().expect("--reads N"),
            other => panic!("unknown flag {other}"),
        }
    }
    (sends, reads)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `n`-th send: its state and facts follow from `n`, spread like a real campaign's.
fn send(campaign_id: &str, n: u64) -> SendRecord {
    let start = utc("2026-02-02T15:00:00Z");
    let variant = if n.is_multiple_of(2) {
        Variant::A
    } else {
        Variant::B
    };
    let mut s = SendRecord::planned(
        campaign_id,
        &format!("ct_{n:07}"),
        format!("+1212{:07}", n),
        n,
        variant,
        "bench".into(),
        start,
    );
    let sent_at = start + Duration::days((n % 30) as i64) + Duration::minutes((n % 600) as i64);
    let zone: chrono_tz::Tz = if n.is_multiple_of(3) {
        "America/Los_Angeles".parse().unwrap()
    } else {
        "America/New_York".parse().unwrap()
    };
    match n % 100 {
        0..=2 => {
            s.state = SendState::Failed;
            s.failure = Some(FailureKind::ALL[(n % 3) as usize]);
        }
        3..=9 => {}
        _ => {
            s.state = SendState::Sent;
            s.sent_at = Some(sent_at);
            s.sent_local = Some(LocalSendTime::at(sent_at, zone).encode());
            if !n.is_multiple_of(10) {
                s.delivered_at = Some(sent_at + Duration::seconds(5));
            }
            if n.is_multiple_of(7) || (variant == Variant::B && n.is_multiple_of(11)) {
                s.replied_at = Some(sent_at + Duration::minutes((n % 240) as i64));
            }
            if n.is_multiple_of(97) {
                s.opted_out_at = Some(sent_at + Duration::minutes(3));
            }
        }
    }
    s
}

#[tokio::main]
async fn main() {
    let (sends, reads) = args();
    let world = World::new(utc("2026-03-05T12:00:00Z"));
    let services = &world.services;
    let list = world.list(&[], "completed").await;
    let raw = RawCampaign {
        name: "Stats bench".into(),
        message_a: "Hi {{first_name|there}}".into(),
        message_b: Some("Hello {{first_name|there}}".into()),
        list_id: list.to_string(),
        schedule: Some(RawSchedule {
            days: vec!["mon".into()],
            send_time: "10:00".into(),
            time_zone: "America/New_York".into(),
        }),
        per_run: 100,
        sender: "+12125550100".into(),
        business_name: Some("Acme".into()),
        ..RawCampaign::default()
    };
    let id = campaigns::create(services, raw)
        .await
        .unwrap()
        .id
        .to_string();

    let written = Instant::now();
    let mut shard_sums: BTreeMap<u32, BTreeMap<String, i64>> = BTreeMap::new();
    let mut day_sums: BTreeMap<(NaiveDate, u32), BTreeMap<String, i64>> = BTreeMap::new();
    let mut planned: std::collections::HashMap<Variant, i64> = Default::default();
    let mut batch = Vec::new();
    for n in 0..sends {
        let record = send(&id, n);
        let item = records::to_item(&keys::send(&id, &record.contact_id), &record).unwrap();
        let facts = send_counters::facts(&item).unwrap();
        let shard = send_counters::shard_of(&record.contact_id);
        let contribution = counts::contribution(&facts);
        for (name, by) in contribution.campaign {
            *shard_sums
                .entry(shard)
                .or_default()
                .entry(name)
                .or_insert(0) += by;
        }
        for (date, day) in contribution.days {
            let sums = day_sums.entry((date, shard)).or_default();
            for (name, by) in day {
                *sums.entry(name).or_insert(0) += by;
            }
        }
        *planned.entry(record.variant).or_insert(0) += 1;
        batch.push(TxOp::Put {
            item,
            condition: None,
        });
        if batch.len() == 100 {
            services
                .table
                .transact(std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    if !batch.is_empty() {
        services.table.transact(batch).await.unwrap();
    }
    let adds = |m: &BTreeMap<String, i64>| m.iter().fold(Update::new(), |u, (k, v)| u.add(k, *v));
    for (shard, sums) in &shard_sums {
        let key = send_counters::stats_shard(&id, *shard);
        services.table.update(&key, adds(sums), None).await.unwrap();
    }
    for ((date, shard), sums) in &day_sums {
        let key = send_counters::day_shard(*date, *shard);
        let update = adds(sums).set("date", date.to_string());
        services.table.update(&key, update, None).await.unwrap();
    }
    let mut tally = Update::new();
    for (variant, n) in &planned {
        tally = tally.add(&keys::planned(*variant), *n);
    }
    services
        .table
        .update(&keys::tally(&id), tally, None)
        .await
        .unwrap();
    println!(
        "fixture: {sends} sends, {} counter items, written in {:.1} s",
        shard_sums.len() + day_sums.len() + 1,
        written.elapsed().as_secs_f64()
    );

    let mut times = Vec::new();
    let mut counted = None;
    for _ in 0..reads {
        let t = Instant::now();
        counted = Some(stats::stats(services, &id).await.unwrap());
        times.push(ms(t.elapsed()));
    }
    let slowest = times.iter().copied().fold(0.0, f64::max);
    println!(
        "stats from counters: median {:.2} ms, slowest {:.2} ms over {reads} reads",
        median(times),
        slowest
    );
    let t = Instant::now();
    let recounted = stats::recount(services, &id).await.unwrap();
    println!("recount of every send: {:.0} ms", ms(t.elapsed()));
    let counted = counted.unwrap();
    println!(
        "counters agree with the recount: {} (sent {}, replied {}, failed {})",
        if counted == recounted { "yes" } else { "NO" },
        counted.total.sent,
        counted.total.replied,
        counted.total.failed
    );
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
    );
    let t = Instant::now();
    let grid = insights::best_time(services, from, to).await.unwrap();
    let best_ms = ms(t.elapsed());
    let t = Instant::now();
    let overview = insights::overview(services, from, to).await.unwrap();
    println!(
        "best time, 90 days: {best_ms:.2} ms ({} cells coloured); overview, 90 days: {:.2} ms ({} sent)",
        grid.cells.iter().filter(|c| c.reply_rate.is_some()).count(),
        ms(t.elapsed()),
        overview.totals.sent
    );
    if counted != recounted {
        std::process::exit(1);
    }
}
