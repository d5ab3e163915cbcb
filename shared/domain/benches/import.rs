//! Generates a CSV of `ROWS` rows (default 1,000,000; `IMPORT_BENCH_ROWS` overrides) and reads
//! it the way an import does — encoding and format detection, streaming rows, smart columns,
//! E.164 normalisation, in-file dedupe — validation excluded. Prints rows/second and the peak
//! resident memory of the process (VmHWM).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

use trickle_domain::csv_import::{rows_from, FileFormat, InFileDedupe, ParseCounts, SNIFF_BYTES};

fn main() {
    let rows: u64 = std::env::var("IMPORT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // `IMPORT_BENCH_FILE`: read a given file instead (`../shared/bench/gen_csv.py`'s, to run
    // beside `py_import.py` on the same bytes).
    let given = std::env::var_os("IMPORT_BENCH_FILE").map(std::path::PathBuf::from);
    let path = match &given {
        Some(path) => path.clone(),
        None => {
            let path = std::env::temp_dir().join(format!("trickle-import-bench-{rows}.csv"));
            let started = Instant::now();
            generate(&path, rows).expect("write the CSV");
            println!(
                "generated {rows} rows in {:.2} s: {}",
                started.elapsed().as_secs_f64(),
                path.display()
            );
            path
        }
    };
    let size = std::fs::metadata(&path).unwrap().len();
    println!("reading {} ({:.1} MB)", path.display(), size as f64 / 1e6);

    let started = Instant::now();
    let mut sample = Vec::new();
    File::open(&path)
        .unwrap()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut sample)
        .unwrap();
    let format = FileFormat::detect(&sample, sample.len() < SNIFF_BYTES).expect("a known format");
    let file = BufReader::with_capacity(256 * 1024, File::open(&path).unwrap());
    let mut dedupe = InFileDedupe::new();
    let mut counts = ParseCounts::default();
    for row in rows_from(file, &format, format.start()).unwrap() {
        let row = row.expect("readable row");
        let first = match &row.outcome {
            Ok(candidate) => dedupe.first_time(&candidate.phone),
            Err(_) => false,
        };
        counts.count(&row, first);
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("mapping: {}", format.mapping.describe());
    println!("{counts:?}");
    println!(
        "parse + normalise + dedupe: {} rows in {:.2} s = {:.0} rows/s",
        counts.rows,
        elapsed,
        counts.rows as f64 / elapsed
    );
    println!("peak memory (VmHWM): {}", peak_memory());
    if given.is_none() {
        let _ = std::fs::remove_file(&path);
    }
}

/// A PropertyRadar-like file: names, two phone columns (mobile first), email, address, value;
/// every 20th row repeats an earlier number in another spelling, every 50th has no phone.
fn generate(path: &std::path::Path, rows: u64) -> std::io::Result<()> {
    const AREAS: [u32; 8] = [212, 646, 917, 415, 512, 305, 312, 617];
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(
        out,
        "Owner First Name,Owner Last Name,Primary Mobile Phone1,Primary Phone1,Primary Email1,Address,City,State,ZIP,Est. Value"
    )?;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut earlier = (212u32, 555u32, 134u32);
    for i in 0..rows {
        let r = next();
        let (area, exchange, line) = if i % 20 == 19 {
            earlier
        } else {
            (
                AREAS[(r % 8) as usize],
                200 + ((r >> 8) % 800) as u32,
                ((r >> 20) % 10_000) as u32,
            )
        };
        earlier = (area, exchange, line);
        let mobile = if i % 50 == 49 {
            String::new()
        } else if i % 20 == 19 {
            format!("+1 {area}.{exchange}.{line:04}")
        } else {
            format!("({area}) {exchange}-{line:04}")
        };
        writeln!(
            out,
            "First{i},Last{},{mobile},{}-555-01{:02},person{i}@example.com,\"{} Main St, Apt {}\",Austin,TX,78{:03},\"${},000\"",
            i % 997,
            AREAS[((r >> 40) % 8) as usize],
            (r >> 44) % 100,
            r % 9999,
            r % 40,
            (r >> 12) % 1000,
            100 + (r >> 30) % 900,
        )?;
    }
    out.flush()
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".into())
}
