//! Streaming a CSV file: its format is detected from a sample of its first bytes, then rows are
//! read one at a time from any byte position a previous pass stopped at.

use std::io::Read;

use serde::{Deserialize, Serialize};

use super::columns::{ColumnMapping, MappingError};
use super::encoding::{DecodingReader, TextEncoding};
use super::limits::{MAX_COLUMNS, MAX_OPEN_ROW_BYTES, MAX_ROW_BYTES};
use super::rows::{candidate_from_row, Candidate, RowRejected};

/// Records read to detect the mapping (the header and a few data rows).
const SAMPLE_RECORDS: usize = 20;

/// What is kept of a rejected oversized row for the rejects file.
const TOO_LARGE_EXCERPT: usize = 200;

/// A row that did not end within [`MAX_OPEN_ROW_BYTES`]: reading stops there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the row starting on line {line} runs past 1 MB without ending, usually because a quote (\") \
     in it is never closed; fix that row and upload the file again"
)]
pub struct RowRunsOn {
    pub line: u64,
}

impl RowRunsOn {
    /// The runaway row behind a read error, if that is what stopped the reading.
    pub fn behind(error: &std::io::Error) -> Option<RowRunsOn> {
        error.get_ref()?.downcast_ref::<RowRunsOn>().copied()
    }
}

/// What a file is made of: how to decode and split it, and how its columns map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFormat {
    pub encoding: TextEncoding,
    /// `,`, `;`, tab or `|`.
    pub delimiter: char,
    pub mapping: ColumnMapping,
    /// Where the first data record starts, in bytes of the decoded text.
    pub data_offset: u64,
    /// The line the first data record starts on (1-based).
    pub data_line: u64,
}

/// A position to resume reading from: a byte offset in the decoded text and its line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPosition {
    pub offset: u64,
    pub line: u64,
}

impl FileFormat {
    /// Detects the format from the file's first bytes (`complete` when `sample` is the whole
    /// file, so its last record is not cut short).
    pub fn detect(sample: &[u8], complete: bool) -> Result<FileFormat, MappingError> {
        let encoding = TextEncoding::sniff(sample);
        let mut text = Vec::new();
        DecodingReader::new(sample, encoding)
            .read_to_end(&mut text)
            .map_err(|_| MappingError::Empty)?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let delimiter = sniff_delimiter(&text);
        let mut reader = csv_reader(text.as_bytes(), delimiter as u8);
        let mut records: Vec<(Vec<String>, RowPosition)> = Vec::new();
        let mut record = csv::ByteRecord::new();
        while records.len() <= SAMPLE_RECORDS {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                _ => break,
            }
            let fields = lossy_fields(&record);
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let next = RowPosition {
                offset: reader.position().byte(),
                line: reader.position().line(),
            };
            records.push((fields, next));
        }
        if !complete && records.len() > 1 && sample.len() >= super::encoding::SNIFF_BYTES {
            records.pop();
        }
        let Some((first, after_first)) = records.first().cloned() else {
            return Err(MappingError::Empty);
        };
        if !complete && after_first.offset >= text.len() as u64 {
            return Err(MappingError::HeaderTooLarge);
        }
        if first.len() > MAX_COLUMNS {
            return Err(MappingError::TooManyColumns(first.len()));
        }
        let rest: Vec<Vec<String>> = records[1..].iter().map(|(f, _)| f.clone()).collect();
        let mapping = ColumnMapping::detect(&first, &rest)?;
        let start = if mapping.has_header {
            after_first
        } else {
            RowPosition { offset: 0, line: 1 }
        };
        Ok(FileFormat {
            encoding,
            delimiter,
            mapping,
            data_offset: start.offset,
            data_line: start.line,
        })
    }

    pub fn start(&self) -> RowPosition {
        RowPosition {
            offset: self.data_offset,
            line: self.data_line,
        }
    }
}

/// The delimiter that splits the first lines into the same number of fields most often.
pub fn sniff_delimiter(text: &str) -> char {
    const CANDIDATES: [char; 4] = [',', ';', '\t', '|'];
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .collect();
    let count = |line: &str, d: char| {
        let mut quoted = false;
        line.chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == d && !quoted
            })
            .count()
    };
    let mut best = (',', 0usize, false);
    for d in CANDIDATES {
        let counts: Vec<usize> = lines.iter().map(|l| count(l, d)).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        // Lines cut by quoted newlines may differ; the header line decides the width.
        let consistent = counts.iter().filter(|&&c| c == first).count() * 2 >= counts.len();
        let better =
            first > 0 && ((consistent && !best.2) || (consistent == best.2 && first > best.1));
        if better {
            best = (d, first, consistent);
        }
    }
    best.0
}

fn csv_reader<R: Read>(reader: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(64 * 1024)
        .from_reader(reader)
}

fn lossy_fields(record: &csv::ByteRecord) -> Vec<String> {
    record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

/// One data row as read.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    /// The line the row starts on: the row number shown to the operator.
    pub line: u64,
    pub fields: csv::StringRecord,
    /// The row has more or fewer fields than the header: reported, still read.
    pub ragged: bool,
    pub outcome: Result<Candidate, RowRejected>,
    /// Where the next row starts.
    pub next: RowPosition,
}

impl ParsedRow {
    /// The row written back as CSV (for the rejects file).
    pub fn original(&self, delimiter: char) -> String {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter as u8)
            .from_writer(Vec::new());
        let _ = writer.write_record(&self.fields);
        let bytes = writer.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim_end().to_string()
    }
}

/// Positions of the line-break bytes the CSV parser has read ahead, so that a row's line number
/// is exact: the parser reports a record as starting before the line breaks (and blank lines)
/// that precede it.
#[derive(Debug)]
struct Breaks {
    /// Line number at `floor`.
    line_at_floor: u64,
    floor: u64,
    marks: std::collections::VecDeque<(u64, u8)>,
    read: u64,
}

impl Breaks {
    /// The first byte at or after `offset` that is not a line break: where a record really
    /// starts.
    fn skip_breaks(&self, offset: u64) -> u64 {
        let mut start = offset;
        for &(at, _) in self.marks.iter().skip_while(|(at, _)| *at < offset) {
            if at != start {
                break;
            }
            start += 1;
        }
        start
    }

    fn line_at(&self, offset: u64) -> u64 {
        self.line_at_floor
            + self
                .marks
                .iter()
                .take_while(|(at, _)| *at < offset)
                .filter(|(_, b)| *b == b'\n')
                .count() as u64
    }

    /// Forgets the breaks before `offset` (they are counted in `line_at_floor`).
    fn settle(&mut self, offset: u64) {
        while let Some(&(at, b)) = self.marks.front() {
            if at >= offset {
                break;
            }
            if b == b'\n' {
                self.line_at_floor += 1;
            }
            self.marks.pop_front();
        }
        self.floor = offset;
    }
}

struct Tracked<R> {
    inner: R,
    breaks: std::sync::Arc<std::sync::Mutex<Breaks>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let breaks = self.breaks.lock().expect("never poisoned");
        // Everything read since the last row ended belongs to the row being read.
        if breaks.read - breaks.floor > MAX_OPEN_ROW_BYTES {
            let line = breaks.line_at(breaks.skip_breaks(breaks.floor));
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RowRunsOn { line },
            ));
        }
        drop(breaks);
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.lock().expect("never poisoned");
        let start = breaks.read;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                breaks.marks.push_back((start + i as u64, *b));
            }
        }
        breaks.read += n as u64;
        Ok(n)
    }
}

/// Reads data rows from decoded text positioned at `from`.
pub struct RowReader<'f, R: Read> {
    csv: csv::Reader<Tracked<R>>,
    breaks: std::sync::Arc<std::sync::Mutex<Breaks>>,
    format: &'f FileFormat,
    from: RowPosition,
    record: csv::ByteRecord,
}

impl<'f, R: Read> RowReader<'f, R> {
    /// `text` is the decoded file (see [`DecodingReader`]) already advanced to `from.offset`.
    pub fn new(text: R, format: &'f FileFormat, from: RowPosition) -> Self {
        let breaks = std::sync::Arc::new(std::sync::Mutex::new(Breaks {
            line_at_floor: from.line,
            floor: 0,
            marks: Default::default(),
            read: 0,
        }));
        let tracked = Tracked {
            inner: text,
            breaks: breaks.clone(),
        };
        Self {
            csv: csv_reader(tracked, format.delimiter as u8),
            breaks,
            format,
            from,
            record: csv::ByteRecord::new(),
        }
    }
}

impl<R: Read> Iterator for RowReader<'_, R> {
    type Item = Result<ParsedRow, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let text = e.to_string();
                    return Some(Err(match e.into_kind() {
                        csv::ErrorKind::Io(io) => io,
                        _ => std::io::Error::new(std::io::ErrorKind::InvalidData, text),
                    }));
                }
            }
            let start = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let end = self.csv.position().byte();
            let blank = self.record.iter().all(|f| f.trim_ascii().is_empty());
            if blank {
                // Blank lines and rows of empty cells: skipped, but the row has ended.
                self.breaks.lock().expect("never poisoned").settle(end);
                continue;
            }
            let (line, next) = {
                let mut breaks = self.breaks.lock().expect("never poisoned");
                let line = breaks.line_at(breaks.skip_breaks(start));
                let next_line = breaks.line_at(end);
                breaks.settle(end);
                (
                    line,
                    RowPosition {
                        offset: self.from.offset + end,
                        line: next_line,
                    },
                )
            };
            let ragged = self.record.len() != self.format.mapping.columns.len();
            if end - start > MAX_ROW_BYTES || self.record.len() > MAX_COLUMNS {
                return Some(Ok(too_large(&self.record, line, end - start, ragged, next)));
            }
            // One buffer for the row (not a string per cell): a million rows allocate less.
            let fields = csv::StringRecord::from_byte_record_lossy(self.record.clone());
            let refs: Vec<&str> = fields.iter().collect();
            let outcome = candidate_from_row(&self.format.mapping, &refs);
            return Some(Ok(ParsedRow {
                line,
                ragged,
                fields,
                outcome,
                next,
            }));
        }
    }
}

/// An oversized row, rejected with its size; only its opening is kept for the rejects file.
fn too_large(
    record: &csv::ByteRecord,
    line: u64,
    bytes: u64,
    ragged: bool,
    next: RowPosition,
) -> ParsedRow {
    let mut excerpt = String::new();
    for field in record.iter() {
        if excerpt.len() >= TOO_LARGE_EXCERPT {
            break;
        }
        if !excerpt.is_empty() {
            excerpt.push(' ');
        }
        excerpt.push_str(&String::from_utf8_lossy(field));
    }
    if excerpt.len() > TOO_LARGE_EXCERPT {
        let mut cut = TOO_LARGE_EXCERPT;
        while !excerpt.is_char_boundary(cut) {
            cut -= 1;
        }
        excerpt.truncate(cut);
    }
    excerpt.push('…');
    let detail = if record.len() > MAX_COLUMNS {
        format!(
            "this row has {} cells and a row may have at most {MAX_COLUMNS}; remove the extra cells",
            record.len()
        )
    } else {
        format!(
            "this row is {} KB and a row may hold at most {} KB; look for a cell holding a pasted \
             document or a quote that is closed much later",
            bytes.div_ceil(1024),
            MAX_ROW_BYTES / 1024
        )
    };
    ParsedRow {
        line,
        fields: csv::StringRecord::from(vec![excerpt]),
        ragged,
        outcome: Err(RowRejected {
            reason: super::rows::RejectReason::RowTooLarge,
            detail,
        }),
        next,
    }
}
