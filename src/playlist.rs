//! The HLS playlists authored from a job's timeline: the full-length VOD media playlist and the
//! master playlist. Pure.

use crate::timeline::{Container, Timeline};
use std::fmt::Write;

fn with_query(uri: &str, query: &str) -> String {
    let q = query.trim_start_matches('?');
    if q.is_empty() {
        uri.to_owned()
    } else {
        format!("{uri}?{q}")
    }
}

/// The longest query a playlist carries: it is repeated on every line (a 48 h timeline has
/// tens of thousands), so its length multiplies the playlist's; Jellyfin's stream queries are
/// a few hundred bytes.
pub(crate) const MAX_QUERY: usize = 2048;

/// Checks a query that goes onto every playlist URI: at most [`MAX_QUERY`] bytes of printable
/// URI characters only (RFC 3986: unreserved, sub-delims, `%`, `:`, `@`, `/`, `?`), so nothing
/// can break a playlist line or add one, or blow a playlist up.
pub(crate) fn check_query(query: &str) -> crate::error::Result<()> {
    if query.len() > MAX_QUERY {
        return Err(crate::error::Error::invalid(format!(
            "uri_query is {} bytes, over the {MAX_QUERY} a playlist repeats on every line",
            query.len()
        )));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=%:@/?".contains(c);
    match query.chars().find(|&c| !ok(c)) {
        None => Ok(()),
        Some(c) => Err(crate::error::Error::invalid(format!("uri_query holds {c:?}, which a URI query cannot"))),
    }
}

/// Name of the fMP4 init section in the media playlist (relative).
pub(crate) const INIT_URI: &str = "init.mp4";

/// The most a media playlist may take: a 48 h source at 1 s segments with a 300-byte query
/// takes 58 MiB; past the bound a request is refused instead of built.
pub(crate) const MAX_PLAYLIST_BYTES: usize = 64 << 20;

/// What the media playlist of `t` with `query` takes, at most.
fn playlist_bytes(t: &Timeline, query: &str) -> usize {
    256 + query.len() + t.count() as usize * (36 + query.len())
}

/// Refuses a media playlist larger than [`MAX_PLAYLIST_BYTES`] (a long timeline of short
/// segments times a long query).
pub(crate) fn check_size(t: &Timeline, query: &str) -> crate::error::Result<()> {
    let bytes = playlist_bytes(t, query);
    if bytes > MAX_PLAYLIST_BYTES {
        return Err(crate::error::Error::invalid(format!(
            "a playlist of {} segments with a {}-byte query would take {} MiB, over the {} MiB a playlist may",
            t.count(),
            query.len(),
            bytes >> 20,
            MAX_PLAYLIST_BYTES >> 20
        )));
    }
    Ok(())
}

/// The full-length VOD media playlist: every segment listed from the start, ENDLIST present,
/// `query` appended to every URI (authentication tokens travel that way).
pub(crate) fn media_playlist(t: &Timeline, container: Container, query: &str) -> String {
    let count = t.count();
    let target = t.target_duration();
    let q = query.trim_start_matches('?');
    let ext = container.segment_ext();
    // Written straight into one buffer sized for it: a two-hour film has 1800 entries and the
    // C ABI builds its playlist on every request.
    let mut out = String::with_capacity(playlist_bytes(t, q));
    let version = if container == Container::Mp4 { 7 } else { 3 };
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    );
    if container == Container::Mp4 {
        let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", with_query(INIT_URI, query));
    }
    for k in 0..count {
        let d = t.duration_of(k);
        // Whole seconds (every segment but the last) skip float formatting.
        let _ = if d.fract() == 0.0 {
            write!(out, "#EXTINF:{}.000000,\n{k}.{ext}", d as u64)
        } else {
            write!(out, "#EXTINF:{d:.6},\n{k}.{ext}")
        };
        if !q.is_empty() {
            out.push('?');
            out.push_str(q);
        }
        out.push('\n');
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// One variant of a master playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variant {
    /// Peak bitrate estimate, bits/s.
    pub bandwidth: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RFC 6381 codecs.
    pub codecs: String,
    /// Its media playlist, relative to the master playlist.
    pub uri: String,
}

/// A master playlist listing `variants` in order (players start with the first), `query`
/// appended to every URI.
pub(crate) fn master_playlist(variants: &[Variant], container: Container, query: &str) -> String {
    // fMP4 segments need version 7 (EXT-X-MAP in a media playlist without I-frames-only).
    let version = if container == Container::Mp4 { 7 } else { 3 };
    let mut out = format!("#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        let _ = write!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},CODECS=\"{}\"\n{}\n",
            v.bandwidth,
            v.width,
            v.height,
            v.codecs,
            with_query(&v.uri, query)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_lists_everything_with_query_and_endlist() {
        let t = Timeline { duration: 10.0, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None };
        let p = media_playlist(&t, Container::Ts, "?ApiKey=abc&PlaySessionId=1");
        insta::assert_snapshot!(p);
    }

    #[test]
    fn a_query_that_could_break_a_line_is_refused() {
        assert!(check_query("?ApiKey=abc&PlaySessionId=1%20x").is_ok());
        assert!(check_query(&format!("?a={}", "b".repeat(MAX_QUERY - 3))).is_ok());
        let long = check_query(&format!("?a={}", "b".repeat(MAX_QUERY))).unwrap_err();
        assert!(long.message.contains("over the 2048"), "{}", long.message);
        // 48 h at 1 s segments: a 300-byte query fits, 2000 bytes do not.
        let t = Timeline { duration: 48.0 * 3600.0, segment_seconds: 1, first_seconds: 1, fps: 24.0, cuts: None };
        assert!(check_size(&t, &"q".repeat(300)).is_ok());
        let e = check_size(&t, &"q".repeat(2000)).unwrap_err();
        assert!(e.message.contains("172800 segments with a 2000-byte query"), "{}", e.message);
        let built = media_playlist(&t, Container::Ts, &"q".repeat(300));
        assert!(built.len() <= playlist_bytes(&t, &"q".repeat(300)), "the estimate is a bound");
        for bad in ["a\nb", "a\r", "a b", "a\"b", "a#b", "é"] {
            assert!(check_query(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fmp4_playlist_has_map() {
        let t = Timeline { duration: 5.0, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None };
        let p = media_playlist(&t, Container::Mp4, "");
        assert!(p.contains("#EXT-X-MAP:URI=\"init.mp4\"\n"));
        assert!(p.contains("\n1.m4s\n"));
        assert!(p.contains("#EXT-X-VERSION:7"));
    }
}
