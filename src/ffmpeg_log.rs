//! What a failed ffmpeg run's error log (`-loglevel error`) says: its first line, which names
//! the cause (later lines are mostly its consequences: "Error marking filters as finished"),
//! and its last; and whether the cause is the source itself or a full disk. Pure.

/// A failed run, as its log explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The cause and how the run ended, for people (`A / B`, or one line when that is all).
    pub text: String,
    /// The source could not be decoded: the file is at fault, not the machine.
    pub undecodable: bool,
    /// A write failed for lack of space.
    pub disk_full: bool,
}

/// Reads a run's error log.
pub(crate) fn explain(log: &str) -> Failure {
    let lines: Vec<String> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Last message repeated"))
        .map(without_addresses)
        .collect();
    let text = match (lines.first(), lines.last()) {
        (Some(first), Some(last)) if first != last => format!("{first} / {last}"),
        (Some(only), _) => only.clone(),
        _ => "no error output".to_owned(),
    };
    let undecodable = lines.iter().any(|l| {
        l.starts_with("Error while decoding stream") || l.contains("is invalid") && l.contains("Picture size")
    });
    Failure { text, undecodable, disk_full: log.contains("No space left on device") }
}

/// `[mjpeg @ 0x55e7157e0d00] [IMGUTILS @ 0x7ffc3f50a4e0] text` as `[mjpeg] [IMGUTILS] text`:
/// addresses differ from run to run and say nothing.
fn without_addresses(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(" @ 0x") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 5..];
        let hex = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        rest = &after[hex..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_names_the_cause_and_addresses_go() {
        let log = "[mjpeg @ 0x55e7157e0d00] [IMGUTILS @ 0x7ffc3f50a4e0] Picture size 16384x16384 is invalid\n    Last message repeated 47 times\nError while decoding stream #0:0: Invalid data found when processing input\nCannot determine format of input stream 0:0 after EOF\nError marking filters as finished\n";
        let f = explain(log);
        assert_eq!(
            f.text,
            "[mjpeg] [IMGUTILS] Picture size 16384x16384 is invalid / Error marking filters as finished"
        );
        assert!(f.undecodable && !f.disk_full);
    }

    #[test]
    fn a_full_disk_anywhere_in_the_log_and_one_line_alone() {
        let log = "[hls @ 0x1] Opening 'seg_00003.ts.tmp' for writing\n[mpegts @ 0x2] Error writing: No space left on device\nConversion failed!\n";
        let f = explain(log);
        assert!(f.disk_full && !f.undecodable, "{f:?}");
        assert_eq!(explain("Conversion failed!\n").text, "Conversion failed!");
        assert_eq!(explain("\n\n").text, "no error output");
    }
}
