//! MPEG-TS (ISO/IEC 13818-1) as ffmpeg's HLS muxer writes it: the program table names the video
//! stream, each video PES header carries a frame's presentation time, and the first keyframe's
//! parameter set gives the picture size.

use super::{sps, Audio, Piece, Video};

const PACKET: usize = 188;
/// PTS ticks per second.
const CLOCK: f64 = 90_000.0;
/// Elementary stream bytes kept while looking for the first parameter set.
const MAX_HEAD: usize = 1 << 20;
/// Bytes of a piece's first video PES kept to see whether it opens with its parameter sets.
const MAX_OPENING: usize = 256 << 10;
/// Bytes of one audio PES kept to count its AAC frames (ffmpeg packs a few per PES).
const MAX_AUDIO_PES: usize = 256 << 10;

/// Reads packets as they stream past, one piece (segment) after another.
#[derive(Default)]
pub(super) struct Reader {
    /// The bytes of a packet split across two feeds.
    partial: Vec<u8>,
    pmt_pid: Option<u16>,
    video_pid: Option<u16>,
    audio_pid: Option<u16>,
    codec: Option<&'static str>,
    size: Option<(u32, u32)>,
    /// The start of the video elementary stream, until the size is read from it.
    head: Vec<u8>,
    /// The last video PTS seen, unwrapped (the 33-bit clock wraps).
    last: u64,
    /// The last audio PTS seen, unwrapped.
    last_audio: u64,
    /// Presentation times in the current piece: lowest, highest, count.
    low: u64,
    high: u64,
    frames: u64,
    /// The current piece's first video PES, while it lasts.
    opening: Vec<u8>,
    /// Whether the piece's first video PES is complete (the next one began).
    opening_done: bool,
    /// The audio PES being read: its PTS and its bytes.
    audio_pes: Option<(u64, Vec<u8>)>,
    /// The current piece's audio: first PTS, end of its last frame (both in ticks), the
    /// largest gap between consecutive PES, frames.
    audio: Option<(u64, u64, u64, u32)>,
}

impl Reader {
    /// Takes the next bytes of the file.
    pub(super) fn feed(&mut self, mut data: &[u8]) -> Result<(), String> {
        if !self.partial.is_empty() {
            let take = (PACKET - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < PACKET {
                return Ok(());
            }
            let packet = std::mem::take(&mut self.partial);
            self.packet(&packet)?;
        }
        let mut chunks = data.chunks_exact(PACKET);
        for packet in &mut chunks {
            self.packet(packet)?;
        }
        self.partial.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Ends a piece: it must hold whole packets; returns what it holds.
    pub(super) fn end_piece(&mut self) -> Result<Option<Piece>, String> {
        if !self.partial.is_empty() {
            return Err(format!("it ends inside a {PACKET}-byte packet"));
        }
        self.finish_audio_pes()?;
        let audio = self.audio.take();
        let opening = std::mem::take(&mut self.opening);
        self.opening_done = false;
        if self.frames == 0 {
            return Ok(None);
        }
        // The last frame lasts about as long as the others: the mean spacing of this piece.
        let step = if self.frames > 1 { (self.high - self.low) / (self.frames - 1) } else { 0 };
        let piece = Piece {
            frames: self.frames as u32,
            first: self.low as f64 / CLOCK,
            last: self.high as f64 / CLOCK,
            end: (self.high + step) as f64 / CLOCK,
            audio: audio.map(|(first, end, gap, frames)| Audio {
                first: first as f64 / CLOCK,
                end: end as f64 / CLOCK,
                largest_gap: gap as f64 / CLOCK,
                frames,
            }),
            self_contained: self.opens_with_parameter_sets(&opening),
        };
        self.frames = 0;
        Ok(Some(piece))
    }

    /// Codec and size, once the program table and a parameter set were read.
    pub(super) fn video(&self) -> Result<Video, String> {
        let codec = self.codec.ok_or("no H.264 or HEVC video stream in its program table")?;
        let (width, height) = self.size.ok_or("no sequence parameter set in its video stream")?;
        Ok(Video { codec, width, height })
    }

    fn packet(&mut self, p: &[u8]) -> Result<(), String> {
        if p[0] != 0x47 {
            return Err("it lost MPEG-TS packet sync".into());
        }
        let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
        let unit_start = p[1] & 0x40 != 0;
        let control = (p[3] >> 4) & 3;
        if control & 1 == 0 {
            return Ok(());
        }
        let at = if control & 2 != 0 { 5 + usize::from(p[4]) } else { 4 };
        let Some(payload) = p.get(at..) else {
            return Err("a packet's adaptation field overruns it".into());
        };
        if pid == 0 && unit_start {
            self.pmt_pid = program_map_pid(section(payload)?).or(self.pmt_pid);
        } else if Some(pid) == self.pmt_pid && unit_start {
            let pmt = section(payload)?;
            if let Some((video, codec)) = video_stream(pmt) {
                self.video_pid = Some(video);
                self.codec = Some(codec);
            }
            self.audio_pid = audio_stream(pmt).or(self.audio_pid);
        } else if Some(pid) == self.video_pid {
            let es = if unit_start {
                let (pts, es) = pes_header(payload)?;
                if let Some(pts) = pts {
                    self.note_pts(pts);
                }
                if !self.opening.is_empty() {
                    self.opening_done = true;
                }
                es
            } else {
                payload
            };
            if !self.opening_done && self.opening.len() < MAX_OPENING {
                self.opening.extend_from_slice(es);
            }
            if self.size.is_none() && self.head.len() < MAX_HEAD {
                self.head.extend_from_slice(es);
                self.size = self.find_size()?;
            }
        } else if Some(pid) == self.audio_pid {
            if unit_start {
                self.finish_audio_pes()?;
                let (pts, es) = pes_header(payload)?;
                let pts = pts.ok_or("an audio PES without a time")?;
                let pts = unwrap_clock(pts, &mut self.last_audio);
                self.audio_pes = Some((pts, es.to_vec()));
            } else if let Some((_, bytes)) = self.audio_pes.as_mut().filter(|(_, b)| b.len() < MAX_AUDIO_PES) {
                bytes.extend_from_slice(payload);
            }
        }
        Ok(())
    }

    /// Counts the AAC frames of the audio PES read so far and adds them to the piece.
    fn finish_audio_pes(&mut self) -> Result<(), String> {
        let Some((pts, bytes)) = self.audio_pes.take() else { return Ok(()) };
        let (frames, rate) = adts_frames(&bytes)?;
        let end = pts + u64::from(frames) * 1024 * CLOCK as u64 / u64::from(rate.max(1));
        self.audio = Some(match self.audio {
            None => (pts, end, 0, frames),
            Some((first, last_end, gap, n)) => {
                (first.min(pts), last_end.max(end), gap.max(pts.abs_diff(last_end)), n + frames)
            }
        });
        Ok(())
    }

    fn note_pts(&mut self, raw: u64) {
        let pts = unwrap_clock(raw, &mut self.last);
        if self.frames == 0 {
            (self.low, self.high) = (pts, pts);
        } else {
            self.low = self.low.min(pts);
            self.high = self.high.max(pts);
        }
        self.frames += 1;
    }

    /// Whether a piece's first access unit carries the parameter sets it needs before its
    /// keyframe (SPS and PPS; HEVC also VPS), so that it decodes on its own.
    fn opens_with_parameter_sets(&self, opening: &[u8]) -> bool {
        let hevc = self.codec == Some("hevc");
        let mut seen = [false; 3];
        for nal in nal_units_to_end(opening) {
            let Some(&b) = nal.first() else { continue };
            match (hevc, if hevc { (b >> 1) & 0x3f } else { b & 0x1f }) {
                (false, 7) | (true, 33) => seen[0] = true,
                (false, 8) | (true, 34) => seen[1] = true,
                (true, 32) => seen[2] = true,
                // The first coded slice: everything it needs must have come before it.
                (false, 1..=5) | (true, 0..=21) => return seen[0] && seen[1] && (seen[2] || !hevc),
                _ => {}
            }
        }
        false
    }

    fn find_size(&self) -> Result<Option<(u32, u32)>, String> {
        let hevc = self.codec == Some("hevc");
        for nal in nal_units(&self.head) {
            let kind = if hevc { nal.first().map(|b| (b >> 1) & 0x3f) } else { nal.first().map(|b| b & 0x1f) };
            match (hevc, kind) {
                (false, Some(7)) => return sps::h264_size(nal).map(Some),
                (true, Some(33)) => return sps::hevc_size(nal).map(Some),
                _ => {}
            }
        }
        Ok(None)
    }
}

/// The 33-bit clock wraps after 26.5 h: keeps times increasing across a wrap.
fn unwrap_clock(raw: u64, last: &mut u64) -> u64 {
    let wrap = 1u64 << 33;
    let mut pts = raw + (*last / wrap) * wrap;
    if pts + wrap / 2 < *last {
        pts += wrap;
    }
    *last = pts;
    pts
}

/// A PES header's PTS, and the elementary stream bytes after the header.
fn pes_header(pes: &[u8]) -> Result<(Option<u64>, &[u8]), String> {
    if pes.len() < 9 || pes[..3] != [0, 0, 1] {
        return Err("a packet does not start a PES header".into());
    }
    let end = 9 + usize::from(pes[8]);
    let pts = if pes[7] & 0x80 != 0 {
        let b = pes.get(9..14).ok_or("a PES header is cut short")?;
        Some(
            (u64::from(b[0] >> 1) & 7) << 30
                | u64::from(b[1]) << 22
                | u64::from(b[2] >> 1) << 15
                | u64::from(b[3]) << 7
                | u64::from(b[4] >> 1),
        )
    } else {
        None
    };
    Ok((pts, pes.get(end..).ok_or("a PES header is cut short")?))
}

/// The AAC frames in an audio PES (ADTS headers back to back) and their sample rate.
fn adts_frames(mut es: &[u8]) -> Result<(u32, u32), String> {
    const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    let (mut frames, mut rate) = (0, 0);
    while es.len() >= 7 {
        if es[0] != 0xff || es[1] & 0xf0 != 0xf0 {
            return Err("audio that is not AAC in ADTS frames".into());
        }
        rate = *RATES.get(usize::from((es[2] >> 2) & 0x0f)).ok_or("an ADTS header with no sample rate")?;
        let length = (usize::from(es[3] & 3) << 11) | (usize::from(es[4]) << 3) | usize::from(es[5] >> 5);
        if length < 7 {
            return Err("an ADTS frame shorter than its header".into());
        }
        // Raw data blocks in the frame, each 1024 samples.
        frames += u32::from(es[6] & 3) + 1;
        es = es.get(length..).unwrap_or(&[]);
    }
    Ok((frames, rate))
}

/// The NAL units between start codes that are followed by another start code (so complete).
fn nal_units(es: &[u8]) -> impl Iterator<Item = &[u8]> {
    let starts: Vec<usize> = es.windows(3).enumerate().filter(|(_, w)| *w == [0, 0, 1]).map(|(i, _)| i + 3).collect();
    let ends: Vec<usize> = starts.iter().skip(1).map(|&s| s - 3).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| {
        let nal = &es[s..e];
        // A four-byte start code leaves its leading zero on the unit before.
        nal.strip_suffix(&[0]).unwrap_or(nal)
    })
}

/// The section a pointer field points at, cut to its section_length.
fn section(payload: &[u8]) -> Result<&[u8], String> {
    let start = 1 + usize::from(*payload.first().ok_or("an empty table packet")?);
    let s = payload.get(start..).filter(|s| s.len() >= 3).ok_or("a table is cut short")?;
    let len = (usize::from(s[1] & 0x0f) << 8) | usize::from(s[2]);
    s.get(..3 + len).ok_or_else(|| "a table spans packets, which ffmpeg never writes".to_string())
}

/// The first program's PMT PID from a PAT section.
fn program_map_pid(pat: &[u8]) -> Option<u16> {
    let programs = pat.get(8..pat.len().checked_sub(4)?)?;
    programs
        .chunks_exact(4)
        .find(|p| u16::from_be_bytes([p[0], p[1]]) != 0)
        .map(|p| (u16::from(p[2] & 0x1f) << 8) | u16::from(p[3]))
}

/// Every NAL unit after a start code, the last one running to the end of the bytes.
fn nal_units_to_end(es: &[u8]) -> impl Iterator<Item = &[u8]> {
    let starts: Vec<usize> = es.windows(3).enumerate().filter(|(_, w)| *w == [0, 0, 1]).map(|(i, _)| i + 3).collect();
    let ends: Vec<usize> = starts.iter().skip(1).map(|&s| s - 3).chain([es.len()]).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| &es[s..e.max(s)])
}

/// The first ADTS AAC stream's PID from a PMT section.
fn audio_stream(pmt: &[u8]) -> Option<u16> {
    let info = (usize::from(*pmt.get(10)? & 0x0f) << 8) | usize::from(*pmt.get(11)?);
    let mut streams = pmt.get(12 + info..pmt.len().checked_sub(4)?)?;
    while streams.len() >= 5 {
        let pid = (u16::from(streams[1] & 0x1f) << 8) | u16::from(streams[2]);
        let es_info = (usize::from(streams[3] & 0x0f) << 8) | usize::from(streams[4]);
        if streams[0] == 0x0f {
            return Some(pid);
        }
        streams = streams.get(5 + es_info..)?;
    }
    None
}

/// The first H.264 or HEVC stream (PID, ffprobe's codec name) from a PMT section.
fn video_stream(pmt: &[u8]) -> Option<(u16, &'static str)> {
    let info = (usize::from(*pmt.get(10)? & 0x0f) << 8) | usize::from(*pmt.get(11)?);
    let mut streams = pmt.get(12 + info..pmt.len().checked_sub(4)?)?;
    while streams.len() >= 5 {
        let pid = (u16::from(streams[1] & 0x1f) << 8) | u16::from(streams[2]);
        let es_info = (usize::from(streams[3] & 0x0f) << 8) | usize::from(streams[4]);
        match streams[0] {
            0x1b => return Some((pid, "h264")),
            0x24 => return Some((pid, "hevc")),
            _ => {}
        }
        streams = streams.get(5 + es_info..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_units_split_on_three_and_four_byte_start_codes() {
        let es = [0, 0, 0, 1, 9, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 1];
        let units: Vec<&[u8]> = nal_units(&es).collect();
        assert_eq!(units, vec![&[9u8, 0xf0][..], &[0x67, 1, 2][..], &[0x68, 3][..]]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut r = Reader::default();
        assert!(r.feed(&[0x47; 188 * 3]).is_ok(), "packets without payload");
        assert!(r.video().is_err());
        let mut r = Reader::default();
        assert!(r.feed(&[0u8; 188]).is_err(), "no sync byte");
        let mut r = Reader::default();
        r.feed(&[0x47; 100]).unwrap();
        assert!(r.end_piece().is_err(), "a piece ending inside a packet");
        for seed in 0..300u32 {
            let mut junk: Vec<u8> =
                (0..188 * 4).map(|i: u32| (i.wrapping_mul(2654435761u32 ^ seed) >> 11) as u8).collect();
            for p in junk.chunks_mut(188) {
                p[0] = 0x47;
                p[1] &= 0x5f;
            }
            let mut r = Reader::default();
            let _ = r.feed(&junk);
            let _ = r.end_piece();
            let _ = r.video();
        }
    }
}
