//! The one LEB128 varint and zig-zag codec of the on-disk formats (block
//! index, chunk bit streams). It writes exactly what Go's
//! `binary.PutUvarint` writes, so block files stay byte-identical to the
//! ones earlier versions wrote; decoding is strict so that corrupt input is
//! a typed error rather than a silently wrapped value or a panic.

/// Longest encoding of a `u64`: ten groups of seven bits.
pub const MAX_LEN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VarintError {
    /// The input ended before a byte without the continuation bit.
    #[error("varint truncated")]
    Truncated,
    /// More than ten bytes, or a tenth byte carrying bits past bit 63.
    #[error("varint too long")]
    Overlong,
}

/// Maps signed to unsigned so that small magnitudes of either sign encode
/// short: 0, -1, 1, -2 … become 0, 1, 2, 3 ….
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Hands the encoding of `v` to `emit`, one byte at a time, low group first.
/// The chunk encoder writes into a bit stream, hence a callback rather than
/// a buffer.
pub fn encode_with(mut v: u64, mut emit: impl FnMut(u8)) {
    while v >= 0x80 {
        emit((v as u8) | 0x80);
        v >>= 7;
    }
    emit(v as u8);
}

/// Appends the encoding of `v` to `out`.
pub fn put_uvarint(out: &mut Vec<u8>, v: u64) {
    encode_with(v, |b| out.push(b));
}

/// Appends the zig-zag encoding of `v` to `out`.
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

/// Decodes one value from bytes supplied by `next` (`None` = end of input).
pub fn decode_with(mut next: impl FnMut() -> Option<u8>) -> Result<u64, VarintError> {
    let mut v = 0u64;
    for i in 0..MAX_LEN {
        let b = next().ok_or(VarintError::Truncated)?;
        if i == MAX_LEN - 1 && b > 1 {
            return Err(VarintError::Overlong);
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(VarintError::Overlong)
}

/// Decodes one value from the front of `buf`; returns it with the number of
/// bytes it took.
pub fn uvarint(buf: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut used = 0;
    let v = decode_with(|| {
        let b = buf.get(used).copied();
        used += usize::from(b.is_some());
        b
    })?;
    Ok((v, used))
}

/// Decodes one zig-zag value from the front of `buf`.
pub fn varint(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    uvarint(buf).map(|(v, n)| (unzigzag(v), n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings_match_go_binary_put_uvarint() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (16_384, &[0x80, 0x80, 0x01]),
            (
                u64::MAX,
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ];
        for &(v, want) in cases {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            assert_eq!(out, want, "{v}");
            assert_eq!(uvarint(want), Ok((v, want.len())));
        }
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert_eq!(uvarint(&[]), Err(VarintError::Truncated));
        assert_eq!(uvarint(&[0x80, 0x80]), Err(VarintError::Truncated));
        // A tenth byte above 1 would need bits past 63.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(uvarint(&over), Err(VarintError::Overlong));
        assert_eq!(uvarint(&[0x80; 11]), Err(VarintError::Overlong));
    }

    proptest! {
        #[test]
        fn round_trips(v in any::<u64>(), s in any::<i64>(), tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            let n = out.len();
            prop_assert!(n <= MAX_LEN);
            out.extend_from_slice(&tail);
            prop_assert_eq!(uvarint(&out), Ok((v, n)));
            prop_assert_eq!(unzigzag(zigzag(s)), s);
            let mut out = Vec::new();
            put_varint(&mut out, s);
            prop_assert_eq!(varint(&out), Ok((s, out.len())));
        }

        #[test]
        fn every_truncation_is_an_error_not_a_panic(v in any::<u64>()) {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            for cut in 0..out.len() {
                prop_assert_eq!(uvarint(&out[..cut]), Err(VarintError::Truncated));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok((_, n)) = uvarint(&bytes) {
                prop_assert!(n >= 1 && n <= bytes.len().min(MAX_LEN));
            }
        }
    }
}
