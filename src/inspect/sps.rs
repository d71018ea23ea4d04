//! The picture size in an H.264 or HEVC sequence parameter set (ITU-T H.264 7.3.2.1.1,
//! H.265 7.3.2.2), cropping included, so a file's size is known without decoding it.

/// Reads bits most significant first from a NAL unit's payload with the emulation prevention
/// bytes (`00 00 03`) already removed.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn bit(&mut self) -> Result<u32, String> {
        let byte = self.data.get(self.pos / 8).ok_or("the parameter set ends early")?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        (0..n).try_fold(0u32, |v, _| Ok((v << 1) | self.bit()?))
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    /// Exp-Golomb `ue(v)`.
    fn ue(&mut self) -> Result<u32, String> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err("an Exp-Golomb code is too long".into());
            }
        }
        Ok(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)) as u32)
    }

    /// Exp-Golomb `se(v)`.
    fn se(&mut self) -> Result<i32, String> {
        let k = self.ue()? as i64;
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }
}

/// The payload with emulation prevention bytes removed.
fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// (SubWidthC, SubHeightC) for a chroma_format_idc (Table 6-1 in both standards).
fn chroma_units(chroma_format_idc: u32) -> (u32, u32) {
    match chroma_format_idc {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    }
}

fn checked_size(w: i64, h: i64) -> Result<(u32, u32), String> {
    if w <= 0 || h <= 0 || w > 65535 || h > 65535 {
        return Err(format!("the parameter set gives an impossible size {w}x{h}"));
    }
    Ok((w as u32, h as u32))
}

/// Width and height from an H.264 SPS NAL unit (header byte included).
pub(super) fn h264_size(nal: &[u8]) -> Result<(u32, u32), String> {
    let data = unescape(nal.get(1..).unwrap_or_default());
    let mut r = Bits { data: &data, pos: 0 };
    let profile_idc = r.bits(8)?;
    r.skip(16); // constraint flags, level_idc
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format_idc = 1;
    if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            r.skip(1); // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.skip(1); // qpprime_y_zero_transform_bypass_flag
        if r.bit()? == 1 {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.skip(1); // delta_pic_order_always_zero_flag
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()? {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.skip(1); // gaps_in_frame_num_value_allowed_flag
    let width_mbs = i64::from(r.ue()?) + 1;
    let height_units = i64::from(r.ue()?) + 1;
    let frame_mbs_only = i64::from(r.bit()?);
    if frame_mbs_only == 0 {
        r.skip(1); // mb_adaptive_frame_field_flag
    }
    r.skip(1); // direct_8x8_inference_flag
    let (mut crop_x, mut crop_y) = (0i64, 0i64);
    if r.bit()? == 1 {
        let (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        let (sub_w, sub_h) = if chroma_format_idc == 0 { (1, 1) } else { chroma_units(chroma_format_idc) };
        crop_x = i64::from(sub_w) * (i64::from(left) + i64::from(right));
        crop_y = i64::from(sub_h) * (2 - frame_mbs_only) * (i64::from(top) + i64::from(bottom));
    }
    checked_size(width_mbs * 16 - crop_x, (2 - frame_mbs_only) * height_units * 16 - crop_y)
}

/// Skips one `scaling_list()` (H.264 7.3.2.1.1.1): its length depends on the deltas read.
fn skip_scaling_list(r: &mut Bits, size: u32) -> Result<(), String> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// Width and height from an HEVC SPS NAL unit (two header bytes included).
pub(super) fn hevc_size(nal: &[u8]) -> Result<(u32, u32), String> {
    let data = unescape(nal.get(2..).unwrap_or_default());
    let mut r = Bits { data: &data, pos: 0 };
    r.skip(4); // sps_video_parameter_set_id
    let sub_layers = r.bits(3)?; // sps_max_sub_layers_minus1
    r.skip(1); // sps_temporal_id_nesting_flag
               // profile_tier_level(1, sub_layers): 2+1+5 profile bits, 32 compatibility flags, 48
               // constraint bits, level_idc.
    r.skip(96);
    let mut present = Vec::new();
    for _ in 0..sub_layers {
        present.push((r.bit()?, r.bit()?));
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers as usize));
    }
    for (profile, level) in present {
        r.skip(88 * profile as usize + 8 * level as usize);
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc == 3 {
        r.skip(1); // separate_colour_plane_flag
    }
    let width = i64::from(r.ue()?);
    let height = i64::from(r.ue()?);
    let (mut crop_x, mut crop_y) = (0i64, 0i64);
    if r.bit()? == 1 {
        let (left, right, top, bottom) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        let (sub_w, sub_h) = chroma_units(chroma_format_idc);
        crop_x = i64::from(sub_w) * (i64::from(left) + i64::from(right));
        crop_y = i64::from(sub_h) * (i64::from(top) + i64::from(bottom));
    }
    checked_size(width - crop_x, height - crop_y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes bits for building parameter sets by hand.
    #[derive(Default)]
    struct Writer {
        bits: Vec<u8>,
    }

    impl Writer {
        fn put(&mut self, n: u32, v: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.bits.push(((v >> i) & 1) as u8);
            }
            self
        }
        fn ue(&mut self, v: u32) -> &mut Self {
            let code = v + 1;
            let len = 32 - code.leading_zeros();
            self.put(len - 1, 0).put(len, code)
        }
        fn bytes(&mut self) -> Vec<u8> {
            self.put(1, 1); // rbsp_stop_one_bit
            while !self.bits.len().is_multiple_of(8) {
                self.bits.push(0);
            }
            self.bits.chunks(8).map(|c| c.iter().fold(0u8, |a, b| (a << 1) | b)).collect()
        }
    }

    #[test]
    fn h264_baseline_with_cropping() {
        // 426x240: 27 macroblocks wide, 6 luma pixels (3 crop units) cut on the right.
        let mut w = Writer::default();
        w.put(8, 66).put(16, 0).ue(0).ue(0).ue(0).ue(0).ue(1).put(1, 0).ue(26).ue(14).put(1, 1).put(1, 1);
        w.put(1, 1).ue(0).ue(3).ue(0).ue(0).put(1, 0);
        let mut nal = vec![0x67];
        nal.extend(w.bytes());
        assert_eq!(h264_size(&nal), Ok((426, 240)));
    }

    #[test]
    fn h264_high_with_a_scaling_matrix() {
        // 1920x1080 High profile: 68 map units, 4 crop units (8 lines) cut at the bottom. One
        // scaling list is present: delta 0, then -8 ends it, so its other 14 entries take no bits.
        let mut w = Writer::default();
        w.put(8, 100).put(16, 0).ue(0).ue(1).ue(0).ue(0).put(1, 0).put(1, 1);
        w.put(1, 1).ue(0).ue(16).put(7, 0);
        w.ue(0).ue(0).ue(0).ue(4).put(1, 0).ue(119).ue(67).put(1, 1).put(1, 1);
        w.put(1, 1).ue(0).ue(0).ue(0).ue(4).put(1, 0);
        let mut nal = vec![0x67];
        nal.extend(w.bytes());
        assert_eq!(h264_size(&nal), Ok((1920, 1080)));
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3, 0, 3]), vec![0, 0, 1, 0, 0, 0, 3]);
    }

    #[test]
    fn hevc_with_a_conformance_window() {
        // 1920x1088 coded, 8 lines (4 chroma units) cropped at the bottom.
        let mut w = Writer::default();
        w.put(4, 0).put(3, 0).put(1, 1);
        w.put(32, 0x0160_0000).put(32, 0x6000_0000).put(32, 0);
        w.ue(0).ue(1).ue(1920).ue(1088).put(1, 1).ue(0).ue(0).ue(0).ue(4);
        let mut nal = vec![0x42, 0x01];
        nal.extend(w.bytes());
        assert_eq!(hevc_size(&nal), Ok((1920, 1080)));
    }

    #[test]
    fn truncated_or_garbage_is_an_error_not_a_panic() {
        assert!(h264_size(&[0x67]).is_err());
        assert!(hevc_size(&[0x42]).is_err());
        assert!(h264_size(&[0x67, 0, 0, 0, 0, 0, 0]).is_err());
        for seed in 0..200u32 {
            let junk: Vec<u8> =
                (0..(seed % 40)).map(|i| (i.wrapping_mul(2654435761u32.wrapping_add(seed)) >> 7) as u8).collect();
            let _ = h264_size(&junk);
            let _ = hevc_size(&junk);
        }
    }
}
