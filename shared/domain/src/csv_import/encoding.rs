//! Text encodings of uploaded files: UTF-8 with or without BOM, UTF-16 with BOM, and the
//! Windows-1252 (a superset of Latin-1) fallback that old spreadsheet exports use.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};

/// How many leading bytes decide between UTF-8 and Windows-1252 when there is no BOM.
pub const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl TextEncoding {
    /// The encoding of a file that starts with `prefix` (its first [`SNIFF_BYTES`] or all of it).
    pub fn sniff(prefix: &[u8]) -> TextEncoding {
        if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
            TextEncoding::Utf8Bom
        } else if prefix.starts_with(&[0xFF, 0xFE]) {
            TextEncoding::Utf16Le
        } else if prefix.starts_with(&[0xFE, 0xFF]) {
            TextEncoding::Utf16Be
        } else if is_utf8_allowing_cut_end(prefix) {
            TextEncoding::Utf8
        } else {
            TextEncoding::Windows1252
        }
    }

    pub fn bom_len(self) -> u64 {
        match self {
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
            TextEncoding::Utf8 | TextEncoding::Windows1252 => 0,
        }
    }

    /// True when a byte offset in the decoded text is the same offset in the file (after the
    /// BOM), so a resumed read can start there instead of decoding from the start.
    pub fn offsets_match_file(self) -> bool {
        matches!(self, TextEncoding::Utf8 | TextEncoding::Utf8Bom)
    }

    fn encoding_rs(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => encoding_rs::UTF_8,
            TextEncoding::Utf16Le => encoding_rs::UTF_16LE,
            TextEncoding::Utf16Be => encoding_rs::UTF_16BE,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }
}

fn is_utf8_allowing_cut_end(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        // A sample cut at SNIFF_BYTES may end inside a multi-byte character.
        Err(e) => e.error_len().is_none() && bytes.len() >= SNIFF_BYTES,
    }
}

/// Reads a file in `encoding` (BOM included, if any) as UTF-8 text. UTF-8 passes through
/// untouched (invalid bytes are replaced later, per field); other encodings are decoded in
/// small buffers, so memory stays flat whatever the file size.
pub struct DecodingReader<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    input: Vec<u8>,
    input_start: usize,
    input_end: usize,
    output: Vec<u8>,
    output_start: usize,
    output_end: usize,
    eof: bool,
    skip_bom: u64,
}

impl<R: Read> DecodingReader<R> {
    /// `inner` starts at the beginning of the file.
    pub fn new(inner: R, encoding: TextEncoding) -> Self {
        let decoder = (!encoding.offsets_match_file())
            .then(|| encoding.encoding_rs().new_decoder_without_bom_handling());
        Self {
            inner,
            decoder,
            input: vec![0; 16 * 1024],
            input_start: 0,
            input_end: 0,
            output: vec![0; 48 * 1024 + 16],
            output_start: 0,
            output_end: 0,
            eof: false,
            skip_bom: encoding.bom_len(),
        }
    }

    fn skip_bom(&mut self) -> io::Result<()> {
        while self.skip_bom > 0 {
            let mut byte = [0u8; 1];
            if self.inner.read(&mut byte)? == 0 {
                break;
            }
            self.skip_bom -= 1;
        }
        Ok(())
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.skip_bom()?;
        let Some(decoder) = self.decoder.as_mut() else {
            return self.inner.read(buf);
        };
        loop {
            if self.output_start < self.output_end {
                let n = buf.len().min(self.output_end - self.output_start);
                buf[..n].copy_from_slice(&self.output[self.output_start..self.output_start + n]);
                self.output_start += n;
                return Ok(n);
            }
            if self.eof && self.input_start == self.input_end {
                return Ok(0);
            }
            if self.input_start == self.input_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.input_start = 0;
                self.input_end = n;
                self.eof = n == 0;
            }
            let (_, read, written, _) = decoder.decode_to_utf8(
                &self.input[self.input_start..self.input_end],
                &mut self.output,
                self.eof,
            );
            self.input_start += read;
            self.output_start = 0;
            self.output_end = written;
            if self.eof && written == 0 {
                self.input_start = self.input_end;
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> String {
        let mut text = String::new();
        DecodingReader::new(bytes, TextEncoding::sniff(bytes))
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn sniffs_boms_utf8_and_the_latin1_fallback() {
        assert_eq!(TextEncoding::sniff(b"\xEF\xBB\xBFa"), TextEncoding::Utf8Bom);
        assert_eq!(TextEncoding::sniff(b"\xFF\xFEa\0"), TextEncoding::Utf16Le);
        assert_eq!(TextEncoding::sniff(b"\xFE\xFF\0a"), TextEncoding::Utf16Be);
        assert_eq!(TextEncoding::sniff("José".as_bytes()), TextEncoding::Utf8);
        assert_eq!(TextEncoding::sniff(b"Jos\xE9"), TextEncoding::Windows1252);
        // A sample cut inside a character is still UTF-8.
        let mut cut = "a".repeat(SNIFF_BYTES - 1).into_bytes();
        cut.push("é".as_bytes()[0]);
        assert_eq!(TextEncoding::sniff(&cut), TextEncoding::Utf8);
    }

    #[test]
    fn decodes_every_supported_encoding_to_the_same_text() {
        let text = "name,phone\nJosé,2125550134\n";
        let mut utf16le = vec![0xFF, 0xFE];
        let mut utf16be = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            utf16le.extend(unit.to_le_bytes());
            utf16be.extend(unit.to_be_bytes());
        }
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend(text.as_bytes());
        let latin1 = b"name,phone\nJos\xE9,2125550134\n".to_vec();
        for bytes in [text.as_bytes().to_vec(), bom, utf16le, utf16be, latin1] {
            assert_eq!(decode(&bytes), text);
        }
    }

    #[test]
    fn large_latin1_input_decodes_across_buffer_boundaries() {
        let row = b"Fran\xE7ois,2125550134\n";
        let bytes: Vec<u8> = row.iter().copied().cycle().take(row.len() * 5000).collect();
        let text = decode(&bytes);
        assert_eq!(text.lines().count(), 5000);
        assert!(text.lines().all(|l| l == "François,2125550134"));
    }
}
