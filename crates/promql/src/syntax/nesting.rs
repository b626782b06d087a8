//! The nesting limit. Evaluating, cloning, printing and dropping a syntax
//! tree all recurse once per level, so a short query such as 5 000 opening
//! parentheses or `1+1+1…` would overflow the stack of the thread that
//! evaluates it and abort the whole process. The depth is bounded from the
//! tokens before `promql-parser` builds anything, without recursing.

use super::lex::{Kind, Token};

/// Most levels of nesting a query may have. Measured on a 2 MiB thread
/// stack (tokio's blocking threads, where the API evaluates) with the `ci`
/// profile (opt-level 1): `abs(abs(…))`, `sum(sum(…))` and nested
/// subqueries overflow between 1 000 and 2 000 levels, `x+1+1…` between
/// 2 000 and 4 000, parentheses and `---x` between 4 000 and 8 000. This
/// stays four times below the worst, and far above what a person or a
/// generator writes; `tests/it/deep.rs` evaluates every shape at the limit.
pub const MAX_NESTING: usize = 256;

/// One level of brackets being read: how many operators it holds and the
/// deepest level inside it closed so far.
#[derive(Default)]
struct Level {
    operators: usize,
    deepest_inside: usize,
}

/// An upper bound of the syntax tree's depth: every operator of a level
/// may nest the next (`1+1+1` is three deep, `---1` too), and each
/// bracket adds one. Past [`MAX_NESTING`], where it was passed.
pub(crate) fn too_deep(tokens: &[Token<'_>]) -> Option<usize> {
    let depth = |l: &Level| l.operators + 1 + l.deepest_inside;
    let mut levels = vec![Level::default()];
    let mut last = 0;
    for t in tokens {
        last = t.pos;
        match t.kind {
            Kind::LParen | Kind::LBrace | Kind::LBracket => {
                levels.push(Level::default());
                if levels.len() > MAX_NESTING {
                    return Some(t.pos);
                }
            }
            Kind::RParen | Kind::RBrace | Kind::RBracket if levels.len() > 1 => {
                if let Some(closed) = levels.pop()
                    && let Some(parent) = levels.last_mut()
                {
                    parent.deepest_inside = parent.deepest_inside.max(depth(&closed));
                    if depth(&*parent) > MAX_NESTING {
                        return Some(t.pos);
                    }
                }
            }
            Kind::Op => {
                if let Some(l) = levels.last_mut() {
                    l.operators += 1;
                    if depth(&*l) > MAX_NESTING {
                        return Some(t.pos);
                    }
                }
            }
            _ => {}
        }
    }
    // Levels left open (the parser will refuse them anyway): each is inside
    // the one below it.
    let total = levels.iter().rev().fold(0, |inside, l| {
        l.operators + 1 + l.deepest_inside.max(inside)
    });
    (total > MAX_NESTING).then_some(last)
}
