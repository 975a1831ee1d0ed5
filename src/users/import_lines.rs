//! Line numbers of CSV records, as a person opening the file counts them.

/// Line numbers of records, counted from the text itself: the csv crate's own
/// count points at the line break before a record after a CRLF or a blank line
/// (so every row of a Windows CSV was reported one line too early).
#[derive(Default)]
pub(super) struct Lines {
    /// Bytes counted so far.
    pos: usize,
    /// Line breaks before `pos`.
    breaks: usize,
}

impl Lines {
    /// The 1-based line on which the record at `byte` starts; records come in order.
    pub(super) fn line_of(&mut self, text: &str, byte: u64) -> usize {
        let bytes = text.as_bytes();
        // the record proper starts after any line breaks the reader skipped
        let mut start = (byte as usize).clamp(self.pos, bytes.len());
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let chunk = &bytes[self.pos..start];
        // \n, \r\n and a lone \r each end a line
        self.breaks += chunk
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && chunk.get(i + 1) != Some(&b'\n')))
            .count();
        self.pos = start;
        self.breaks + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_lf_crlf_cr_blank_lines_and_quoted_breaks() {
        for text in [
            "h\na\nb\n\nc,\"x\ny\"\nd\n",
            "h\r\na\r\nb\r\n\r\nc,\"x\r\ny\"\r\nd\r\n",
            "h\ra\rb\r\rc,\"x\ry\"\rd\r",
        ] {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut lines = Lines::default();
            let got: Vec<usize> = reader
                .records()
                .map(|r| lines.line_of(text, r.unwrap().position().unwrap().byte()))
                .collect();
            assert_eq!(got, [2, 3, 5, 7], "{text:?}");
        }
    }
}
