//! Where a parse error is. `promql-parser` reports messages without
//! positions, so the position is recovered by re-parsing prefixes: the
//! error is located at the token that completes the shortest prefix failing
//! with the same message.

/// Inputs longer than this are not probed (each probe is a full parse).
const MAX_PROBE: usize = 2048;

fn class(c: char) -> u8 {
    if c.is_alphanumeric() || c == '_' || c == ':' || c == '.' {
        0
    } else if c.is_whitespace() {
        1
    } else {
        2
    }
}

/// 1-based line and column of the token the error was detected at.
pub(crate) fn locate(input: &str, msg: &str) -> (usize, usize) {
    let fallback = line_col(input, input.len());
    if input.len() > MAX_PROBE {
        return fallback;
    }
    // Token boundaries: where the character class changes, and around every
    // punctuation character.
    let mut bounds: Vec<usize> = Vec::new();
    let mut prev: Option<u8> = None;
    for (i, c) in input.char_indices() {
        let k = class(c);
        if i > 0 && (prev != Some(k) || k == 2) {
            bounds.push(i);
        }
        prev = Some(k);
    }
    bounds.push(input.len());
    let mut token_start = 0;
    for &end in &bounds {
        if input[token_start..end].trim().is_empty() {
            token_start = end;
            continue;
        }
        if let Err(m) = promql_parser::parser::parse(&input[..end])
            && m == msg
        {
            return line_col(input, token_start);
        }
        token_start = end;
    }
    fallback
}

fn line_col(input: &str, byte: usize) -> (usize, usize) {
    let before = &input[..byte.min(input.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(q: &str) -> (usize, usize) {
        let msg = promql_parser::parser::parse(q).err().unwrap_or_default();
        locate(q, &msg)
    }

    #[test]
    fn points_at_the_offending_token() {
        assert_eq!(at("sum(rate(x[5m])"), (1, 4));
        assert_eq!(at("rate(x)"), (1, 7));
        assert_eq!(at("foo{"), (1, 4));
        assert_eq!(at("up +\n  foo["), (2, 6));
    }
}
