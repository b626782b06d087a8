//! WAL record framing: `u32 len | u32 crc32(type+payload) | u8 type | payload`,
//! little endian. Series records carry labels for an id; sample records carry
//! (id, t, v) triples.

use homeostat_model::{Label, Labels};

pub const TYPE_SERIES: u8 = 1;
pub const TYPE_SAMPLES: u8 = 2;
pub const HEADER_LEN: usize = 9;

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<(u64, Labels)>),
    Samples(Vec<(u64, i64, f64)>),
}

pub fn encode_series(out: &mut Vec<u8>, series: &[(u64, &Labels)]) {
    let mut payload = Vec::with_capacity(series.len() * 64);
    payload.extend_from_slice(&(series.len() as u32).to_le_bytes());
    for (id, labels) in series {
        payload.extend_from_slice(&id.to_le_bytes());
        payload.extend_from_slice(&(labels.len() as u32).to_le_bytes());
        for l in labels.iter() {
            for s in [&l.name, &l.value] {
                payload.extend_from_slice(&(s.len() as u32).to_le_bytes());
                payload.extend_from_slice(s.as_bytes());
            }
        }
    }
    frame(out, TYPE_SERIES, &payload);
}

pub fn encode_samples(out: &mut Vec<u8>, samples: &[(u64, i64, f64)]) {
    let mut payload = Vec::with_capacity(4 + samples.len() * 24);
    payload.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    for (id, t, v) in samples {
        payload.extend_from_slice(&id.to_le_bytes());
        payload.extend_from_slice(&t.to_le_bytes());
        payload.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    frame(out, TYPE_SAMPLES, &payload);
}

fn frame(out: &mut Vec<u8>, typ: u8, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&[typ]);
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.push(typ);
    out.extend_from_slice(payload);
}

/// Why a record could not be read at some offset.
#[derive(Debug, PartialEq)]
pub enum FrameError {
    /// The record runs past the end of the data: a write cut short.
    Incomplete,
    BadChecksum,
    Malformed(String),
}

/// Reads one framed record from the front of `buf`; returns it and its length.
pub fn decode(buf: &[u8]) -> Result<(Record, usize), FrameError> {
    if buf.len() < HEADER_LEN {
        return Err(FrameError::Incomplete);
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let typ = buf[8];
    let end = HEADER_LEN.checked_add(len).ok_or(FrameError::Incomplete)?;
    if buf.len() < end {
        return Err(FrameError::Incomplete);
    }
    let payload = &buf[HEADER_LEN..end];
    let mut h = crc32fast::Hasher::new();
    h.update(&[typ]);
    h.update(payload);
    if h.finalize() != crc {
        return Err(FrameError::BadChecksum);
    }
    let rec = match typ {
        TYPE_SERIES => Record::Series(decode_series(payload)?),
        TYPE_SAMPLES => Record::Samples(decode_samples(payload)?),
        other => {
            return Err(FrameError::Malformed(format!(
                "unknown record type {other}"
            )));
        }
    };
    Ok((rec, end))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.0.len() < n {
            return Err(FrameError::Malformed(
                "record payload shorter than its contents".into(),
            ));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u32(&mut self) -> Result<u32, FrameError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, FrameError> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| FrameError::Malformed("label is not UTF-8".into()))
    }
}

fn decode_series(payload: &[u8]) -> Result<Vec<(u64, Labels)>, FrameError> {
    let mut c = Cursor(payload);
    let n = c.u32()? as usize;
    let mut out = Vec::with_capacity(n.min(payload.len() / 12));
    for _ in 0..n {
        let id = c.u64()?;
        let nl = c.u32()? as usize;
        let mut labels = Vec::with_capacity(nl.min(64));
        for _ in 0..nl {
            labels.push(Label {
                name: c.string()?,
                value: c.string()?,
            });
        }
        let labels =
            Labels::new(labels).map_err(|e| FrameError::Malformed(format!("series {id}: {e}")))?;
        out.push((id, labels));
    }
    Ok(out)
}

fn decode_samples(payload: &[u8]) -> Result<Vec<(u64, i64, f64)>, FrameError> {
    let mut c = Cursor(payload);
    let n = c.u32()? as usize;
    if payload.len() != 4 + n * 24 {
        return Err(FrameError::Malformed(
            "sample record length does not match its count".into(),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push((c.u64()?, c.u64()? as i64, f64::from_bits(c.u64()?)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_detection() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let mut buf = Vec::new();
        encode_series(&mut buf, &[(7, &l)]);
        encode_samples(&mut buf, &[(7, 1000, 1.5), (7, 2000, f64::NAN)]);
        let (r1, n1) = decode(&buf).unwrap();
        assert_eq!(r1, Record::Series(vec![(7, l)]));
        let (r2, n2) = decode(&buf[n1..]).unwrap();
        assert!(matches!(r2, Record::Samples(ref s) if s.len() == 2));
        assert_eq!(n1 + n2, buf.len());
        assert_eq!(
            decode(&buf[n1..buf.len() - 3]).unwrap_err(),
            FrameError::Incomplete
        );
        let mut bad = buf.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(decode(&bad[n1..]).unwrap_err(), FrameError::BadChecksum);
    }
}
