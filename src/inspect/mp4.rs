//! Fragmented MP4 (ISO/IEC 14496-12) as ffmpeg's HLS muxer writes it: the `moov` of the init
//! section names the video track, its codec and size; each `moof` gives its fragment's decode
//! time and sample durations. Media data (`mdat`) streams past unread.

use super::{Audio, Piece, Video};

/// `moov` and `moof` are read whole; anything bigger is not a file we wrote.
const MAX_BOX: u64 = 16 << 20;

/// The video track as the init section describes it.
#[derive(Clone, Copy)]
struct Track {
    id: u32,
    timescale: u32,
    default_duration: u32,
    video: Video,
}

/// A track's id, timescale and default sample duration.
#[derive(Clone, Copy)]
struct Timing {
    id: u32,
    timescale: u32,
    default_duration: u32,
}

/// Decode times of a piece's samples of one track: first, end, samples, and the duration of
/// the last one.
#[derive(Clone, Copy, Default)]
struct Run {
    first: u64,
    end: u64,
    samples: u32,
    last: u64,
    gap: u64,
}

/// Reads boxes as they stream past, one piece (segment) after another.
#[derive(Default)]
pub(super) struct Reader {
    /// The current top-level box so far: its header, and its body for `moov`/`moof`.
    buf: Vec<u8>,
    /// Bytes of a box being skipped that are still to come.
    skip: u64,
    track: Option<Track>,
    /// The audio track, when there is one.
    audio: Option<Timing>,
    /// The current piece's video samples.
    video_run: Option<Run>,
    /// The current piece's audio samples.
    audio_run: Option<Run>,
}

impl Reader {
    /// Takes the next bytes of the file.
    pub(super) fn feed(&mut self, mut data: &[u8]) -> Result<(), String> {
        loop {
            if self.skip > 0 {
                if data.is_empty() {
                    return Ok(());
                }
                let n = self.skip.min(data.len() as u64);
                self.skip -= n;
                data = &data[n as usize..];
                continue;
            }
            let Some((size, header)) = box_size(&self.buf)? else {
                if data.is_empty() {
                    return Ok(());
                }
                // Header bytes: 8, or 16 with a 64-bit size.
                let want = if self.buf.len() >= 8 { 16 } else { 8 };
                let n = (want - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                continue;
            };
            let kind: [u8; 4] = self.buf[4..8].try_into().unwrap_or_default();
            if !matches!(&kind, b"moov" | b"moof") {
                self.skip = size - header as u64;
                self.buf.clear();
                continue;
            }
            if size > MAX_BOX {
                return Err(format!("a {} box of {size} bytes", String::from_utf8_lossy(&kind)));
            }
            if self.buf.len() < size as usize {
                if data.is_empty() {
                    return Ok(());
                }
                let n = (size as usize - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
            }
            if self.buf.len() == size as usize {
                let body = std::mem::take(&mut self.buf);
                match &kind {
                    b"moov" => {
                        self.track = Some(video_track(&body[header..])?);
                        self.audio = audio_track(&body[header..]);
                    }
                    _ => self.fragment(&body[header..])?,
                }
            }
        }
    }

    /// Ends a piece: it must end between boxes; returns what it holds (decode times: the
    /// fragments carry no presentation time of their own).
    pub(super) fn end_piece(&mut self) -> Result<Option<Piece>, String> {
        if self.skip > 0 || !self.buf.is_empty() {
            return Err("it ends inside a box".into());
        }
        let audio = self.audio_run.take().zip(self.audio).map(|(r, t)| {
            let scale = f64::from(t.timescale);
            Audio {
                first: r.first as f64 / scale,
                end: r.end as f64 / scale,
                largest_gap: r.gap as f64 / scale,
                frames: r.samples,
            }
        });
        let Some((run, track)) = self.video_run.take().zip(self.track) else {
            return Ok(None);
        };
        let scale = f64::from(track.timescale);
        Ok(Some(Piece {
            frames: run.samples,
            first: run.first as f64 / scale,
            last: run.end.saturating_sub(run.last) as f64 / scale,
            end: run.end as f64 / scale,
            audio,
            // Parameter sets live in the init section; the job compares every run's with its own.
            self_contained: true,
        }))
    }

    /// Codec and size, once the init section was read.
    pub(super) fn video(&self) -> Result<Video, String> {
        self.track.map(|t| t.video).ok_or_else(|| "no moov box with a video track".to_string())
    }

    /// Adds a `moof`'s video and audio samples to the piece.
    fn fragment(&mut self, moof: &[u8]) -> Result<(), String> {
        let track = self.track.ok_or("a fragment before the init section")?;
        let video = Timing { id: track.id, timescale: track.timescale, default_duration: track.default_duration };
        for traf in children(moof).filter(|(k, _)| k == b"traf").map(|(_, b)| b) {
            let mut default = None;
            let mut id = None;
            let mut start = None;
            let mut samples = (0u64, 0u32, 0u64);
            for (kind, b) in children(traf) {
                match &kind {
                    b"tfhd" => {
                        let flags = be32(b, 0)? & 0xff_ffff;
                        id = Some(be32(b, 4)?);
                        // Optional fields in order: base offset (8), description index (4), duration.
                        let at = 8 + if flags & 1 != 0 { 8 } else { 0 } + if flags & 2 != 0 { 4 } else { 0 };
                        if flags & 8 != 0 {
                            default = Some(be32(b, at)?);
                        }
                    }
                    b"tfdt" => {
                        start = Some(if b.first() == Some(&1) { be64(b, 4)? } else { u64::from(be32(b, 4)?) });
                    }
                    b"trun" => {
                        let timing = [Some(video), self.audio].into_iter().flatten().find(|t| Some(t.id) == id);
                        if let Some(t) = timing {
                            let (total, count, last) = run_duration(b, default.unwrap_or(t.default_duration))?;
                            samples = (samples.0.saturating_add(total), samples.1.saturating_add(count), last);
                        }
                    }
                    _ => {}
                }
            }
            let (Some(id), Some(start)) = (id, start) else { continue };
            let slot = if id == video.id {
                &mut self.video_run
            } else if self.audio.is_some_and(|a| a.id == id) {
                &mut self.audio_run
            } else {
                continue;
            };
            let (total, count, last) = samples;
            // A decode time before zero is written as a huge unsigned one.
            let end = start.checked_add(total).ok_or("a fragment whose decode time overflows")?;
            *slot = Some(match *slot {
                None => Run { first: start, end, samples: count, last, gap: 0 },
                Some(r) => Run {
                    first: r.first.min(start),
                    end: r.end.max(end),
                    samples: r.samples + count,
                    last,
                    gap: r.gap.max(start.abs_diff(r.end)),
                },
            });
        }
        Ok(())
    }
}

/// A box's size and header length, once the buffer holds its header.
fn box_size(buf: &[u8]) -> Result<Option<(u64, usize)>, String> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let size = u64::from(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
    let (size, header) = match size {
        1 if buf.len() < 16 => return Ok(None),
        1 => (u64::from_be_bytes(buf[8..16].try_into().unwrap_or_default()), 16),
        0 => return Err("a box that runs to the end of the file, which ffmpeg's HLS muxer never writes".into()),
        n => (n, 8),
    };
    if size < header as u64 {
        return Err(format!("a box claims {size} bytes, less than its header"));
    }
    Ok(Some((size, header)))
}

/// The child boxes of a box body: (type, body). Stops at the first malformed one.
fn children(body: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        let (size, header) = box_size(rest).ok().flatten()?;
        let child = rest.get(..usize::try_from(size).ok()?)?;
        rest = &rest[child.len()..];
        Some((child[4..8].try_into().ok()?, &child[header..]))
    })
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(body).find(|(k, _)| k == kind).map(|(_, b)| b)
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| "a box is cut short".to_string())
}

fn be64(b: &[u8], at: usize) -> Result<u64, String> {
    Ok(u64::from(be32(b, at)?) << 32 | u64::from(be32(b, at + 4)?))
}

fn be16(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 2)
        .map(|x| u32::from(u16::from_be_bytes([x[0], x[1]])))
        .ok_or_else(|| "a box is cut short".to_string())
}

/// A `trun`'s summed sample durations, its sample count and its last sample's duration.
fn run_duration(trun: &[u8], default: u32) -> Result<(u64, u32, u64), String> {
    let flags = be32(trun, 0)? & 0xff_ffff;
    let count = be32(trun, 4)?;
    if flags & 0x100 == 0 {
        return Ok((u64::from(count) * u64::from(default), count, u64::from(default)));
    }
    let mut at = 8 + if flags & 1 != 0 { 4 } else { 0 } + if flags & 4 != 0 { 4 } else { 0 };
    let per_sample = 4 * [0x100, 0x200, 0x400, 0x800].iter().filter(|f| flags & **f != 0).count();
    let (mut total, mut last) = (0u64, 0u64);
    for _ in 0..count {
        last = u64::from(be32(trun, at)?);
        total += last;
        at += per_sample;
    }
    Ok((total, count, last))
}

/// The first video track of a `moov`: id, timescale, default sample duration, codec, size.
fn video_track(moov: &[u8]) -> Result<Track, String> {
    for trak in children(moov).filter(|(k, _)| k == b"trak").map(|(_, b)| b) {
        let Some(mdia) = child(trak, b"mdia") else { continue };
        if child(mdia, b"hdlr").and_then(|h| h.get(8..12)) != Some(b"vide") {
            continue;
        }
        let Timing { id, timescale, default_duration } = timing(moov, trak, mdia, 0)?;
        let stsd = child(mdia, b"minf").and_then(|m| child(m, b"stbl")).and_then(|s| child(s, b"stsd"));
        let entry = stsd.and_then(|s| s.get(8..)).ok_or("a video track without sample description")?;
        let (size, _) = box_size(entry)?.ok_or("a sample description is cut short")?;
        let entry = entry.get(..size as usize).ok_or("a sample description is cut short")?;
        let codec = match &entry[4..8] {
            b"avc1" | b"avc3" => "h264",
            b"hvc1" | b"hev1" => "hevc",
            other => return Err(format!("video in {} rather than H.264 or HEVC", String::from_utf8_lossy(other))),
        };
        // VisualSampleEntry: 8 header, 6 reserved, 2 data reference index, 16 pre-defined.
        let video = Video { codec, width: be16(entry, 32)?, height: be16(entry, 34)? };
        return Ok(Track { id, timescale, default_duration, video });
    }
    Err("no video track in its moov box".into())
}

/// The first sound track of a `moov`, if any.
fn audio_track(moov: &[u8]) -> Option<Timing> {
    for trak in children(moov).filter(|(k, _)| k == b"trak").map(|(_, b)| b) {
        let mdia = child(trak, b"mdia")?;
        if child(mdia, b"hdlr").and_then(|h| h.get(8..12)) != Some(b"soun") {
            continue;
        }
        return timing(moov, trak, mdia, 1024).ok();
    }
    None
}

/// A track's id (`tkhd`), timescale (`mdhd`) and default sample duration (`trex`, else
/// `fallback`).
fn timing(moov: &[u8], trak: &[u8], mdia: &[u8], fallback: u32) -> Result<Timing, String> {
    let tkhd = child(trak, b"tkhd").ok_or("a track without tkhd")?;
    let id = be32(tkhd, if tkhd.first() == Some(&1) { 20 } else { 12 })?;
    let mdhd = child(mdia, b"mdhd").ok_or("a track without mdhd")?;
    let timescale = be32(mdhd, if mdhd.first() == Some(&1) { 20 } else { 12 })?;
    if timescale == 0 {
        return Err("a track with timescale 0".into());
    }
    let default_duration = child(moov, b"mvex")
        .into_iter()
        .flat_map(children)
        .filter(|(k, b)| k == b"trex" && be32(b, 4).ok() == Some(id))
        .find_map(|(_, b)| be32(b, 12).ok())
        .unwrap_or(fallback);
    Ok(Timing { id, timescale, default_duration })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((8 + body.len()) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn a_trun_with_and_without_per_sample_durations() {
        let mut with = vec![0, 0, 0x03, 0x01]; // data offset + duration + size
        with.extend(2u32.to_be_bytes());
        with.extend(0u32.to_be_bytes());
        for (d, s) in [(512u32, 9u32), (488, 7)] {
            with.extend(d.to_be_bytes());
            with.extend(s.to_be_bytes());
        }
        assert_eq!(run_duration(&with, 1), Ok((1000, 2, 488)));
        let mut without = vec![0, 0, 0x02, 0x05];
        without.extend(30u32.to_be_bytes());
        without.extend([0; 8]);
        assert_eq!(run_duration(&without, 512), Ok((30 * 512, 30, 512)));
    }

    #[test]
    fn mdat_of_any_size_streams_past_in_small_feeds() {
        let mut r = Reader::default();
        let mut file = boxed(b"styp", b"msdh");
        let mut mdat = 1u32.to_be_bytes().to_vec();
        mdat.extend_from_slice(b"mdat");
        mdat.extend((16u64 + 5000).to_be_bytes());
        mdat.extend([7u8; 5000]);
        file.extend(mdat);
        for b in file.chunks(3) {
            r.feed(b).unwrap();
        }
        assert!(r.end_piece().unwrap().is_none(), "no fragment in it");
        assert!(r.video().is_err());
    }

    #[test]
    fn a_decode_time_before_zero_is_an_error_not_a_panic() {
        let video = Video { codec: "hevc", width: 2, height: 2 };
        let mut r = Reader {
            track: Some(Track { id: 1, timescale: 90_000, default_duration: 3750, video }),
            ..Reader::default()
        };
        let mut tfhd = vec![0, 0, 0, 0];
        tfhd.extend(1u32.to_be_bytes());
        let mut tfdt = vec![1, 0, 0, 0];
        tfdt.extend((-2070i64 as u64).to_be_bytes());
        let mut trun = vec![0, 0, 0, 0];
        trun.extend(1u32.to_be_bytes());
        let traf = [boxed(b"tfhd", &tfhd), boxed(b"tfdt", &tfdt), boxed(b"trun", &trun)].concat();
        let e = r.fragment(&boxed(b"traf", &traf)).unwrap_err();
        assert!(e.contains("overflows"), "{e}");
    }

    #[test]
    fn a_fragment_before_the_init_section_or_a_cut_box_is_an_error() {
        let mut r = Reader::default();
        assert!(r.feed(&boxed(b"moof", &boxed(b"mfhd", &[0; 8]))).is_err());
        let mut r = Reader::default();
        r.feed(&boxed(b"moov", &[0; 40])[..20]).unwrap();
        assert!(r.end_piece().is_err());
        let mut r = Reader::default();
        assert!(r.feed(&[0, 0, 0, 4, b'f', b'r', b'e', b'e']).is_err(), "smaller than its header");
    }
}
