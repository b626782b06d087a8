//! WAL record framing and payloads.
//!
//! Frame: `type u8 | payload length u32 LE | crc32 u32 LE | payload`, the
//! crc covering the type byte and the payload. Payloads:
//! - series: repeated `id u64 | label count u16 | (name len u16, name, value len u32, value)*`
//! - samples: repeated `id u64 | t i64 | v f64 bits u64`, all little-endian.

use homeostat_model::{Label, Labels, Sample};

pub(crate) const FRAME_HEADER: usize = 9;
pub(crate) const TYPE_SERIES: u8 = 1;
pub(crate) const TYPE_SAMPLES: u8 = 2;
/// Larger lengths can only come from corruption; refusing them keeps a bad
/// length from allocating gigabytes.
pub(crate) const MAX_PAYLOAD: usize = 64 << 20;

/// Appends one framed record to `buf`.
pub(crate) fn frame(buf: &mut Vec<u8>, typ: u8, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&[typ]);
    h.update(payload);
    buf.push(typ);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&h.finalize().to_le_bytes());
    buf.extend_from_slice(payload);
}

pub(crate) fn encode_series(
    out: &mut Vec<u8>,
    id: u64,
    labels: &[(impl AsRef<str>, impl AsRef<str>)],
) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(labels.len() as u16).to_le_bytes());
    for (n, v) in labels {
        let (n, v) = (n.as_ref().as_bytes(), v.as_ref().as_bytes());
        out.extend_from_slice(&(n.len() as u16).to_le_bytes());
        out.extend_from_slice(n);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
    }
}

pub(crate) fn encode_sample(out: &mut Vec<u8>, id: u64, s: Sample) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&s.t.to_le_bytes());
    out.extend_from_slice(&s.v.to_bits().to_le_bytes());
}

/// A framed record found in a segment, `offset` being where its frame starts.
#[derive(Debug)]
pub(crate) struct RawRecord<'a> {
    pub offset: u64,
    pub typ: u8,
    pub payload: &'a [u8],
}

/// Parses one frame at the start of `buf`; `Err` describes why it is invalid.
pub(crate) fn parse_frame(buf: &[u8]) -> Result<(u8, &[u8], usize), String> {
    if buf.len() < FRAME_HEADER {
        return Err(format!("truncated record header ({} bytes)", buf.len()));
    }
    let typ = buf[0];
    let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    let crc = u32::from_le_bytes([buf[5], buf[6], buf[7], buf[8]]);
    if typ != TYPE_SERIES && typ != TYPE_SAMPLES {
        return Err(format!("unknown record type {typ}"));
    }
    if len > MAX_PAYLOAD {
        return Err(format!("record length {len} exceeds the maximum"));
    }
    let Some(payload) = buf.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Err(format!(
            "truncated record: {} of {len} payload bytes",
            buf.len() - FRAME_HEADER
        ));
    };
    let mut h = crc32fast::Hasher::new();
    h.update(&[typ]);
    h.update(payload);
    if h.finalize() != crc {
        return Err("crc32 mismatch".to_string());
    }
    Ok((typ, payload, FRAME_HEADER + len))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("record payload ends early".to_string());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn str(&mut self, n: usize) -> Result<String, String> {
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "label is not utf-8".to_string())
    }
}

pub(crate) fn decode_series(payload: &[u8]) -> Result<Vec<(u64, Labels)>, String> {
    let mut c = Cursor(payload);
    let mut out = Vec::new();
    while !c.0.is_empty() {
        let id = c.u64()?;
        let n = c.u16()?;
        let mut labels = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let nl = c.u16()? as usize;
            let name = c.str(nl)?;
            let vl = c.u32()? as usize;
            let value = c.str(vl)?;
            labels.push(Label::new(name, value));
        }
        let labels = Labels::new(labels).map_err(|e| format!("series {id}: {e}"))?;
        out.push((id, labels));
    }
    Ok(out)
}

pub(crate) fn decode_samples(payload: &[u8]) -> Result<Vec<(u64, Sample)>, String> {
    if !payload.len().is_multiple_of(24) {
        return Err(format!("samples payload of {} bytes", payload.len()));
    }
    Ok(payload
        .chunks_exact(24)
        .map(|c| {
            let word = |i: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&c[i..i + 8]);
                u64::from_le_bytes(a)
            };
            (
                word(0),
                Sample::new(word(8) as i64, f64::from_bits(word(16))),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn series_and_samples_round_trip() {
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        let mut payload = Vec::new();
        encode_series(&mut payload, 7, &pairs);
        let mut buf = Vec::new();
        frame(&mut buf, TYPE_SERIES, &payload);
        let (typ, p, used) = parse_frame(&buf).unwrap();
        assert_eq!((typ, used), (TYPE_SERIES, buf.len()));
        assert_eq!(decode_series(p).unwrap(), vec![(7, labels)]);
        buf[FRAME_HEADER] ^= 1;
        assert!(parse_frame(&buf).unwrap_err().contains("crc32"));
    }

    proptest! {
        #[test]
        fn samples_round_trip(samples in prop::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..50)) {
            let mut payload = Vec::new();
            for &(id, t, v) in &samples {
                encode_sample(&mut payload, id, Sample::new(t, f64::from_bits(v)));
            }
            let mut buf = Vec::new();
            frame(&mut buf, TYPE_SAMPLES, &payload);
            let (_, p, _) = parse_frame(&buf).unwrap();
            let got = decode_samples(p).unwrap();
            let want: Vec<_> = samples.iter().map(|&(id, t, v)| (id, Sample::new(t, f64::from_bits(v)))).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok((typ, p, _)) = parse_frame(&bytes) {
                let _ = if typ == TYPE_SERIES { decode_series(p).map(|_| ()) } else { decode_samples(p).map(|_| ()) };
            }
        }
    }
}
