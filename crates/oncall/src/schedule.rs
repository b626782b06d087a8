//! Schedules and who is on call: overrides beat layers, later layers beat
//! earlier ones, and the final rendered timeline is the same whether asked
//! about one instant ([`who_is_on_call`]) or a range ([`shifts`]).

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::layer::Layer;

/// A validated on-call schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: String,
    pub time_zone: Tz,
    /// In config order; where two layers have someone on call, the later one wins.
    pub layers: Vec<Layer>,
    /// Sorted by start, never overlapping each other.
    pub overrides: Vec<Override>,
}

/// Someone covering `[start, end)` of a schedule, whatever its layers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Why someone is on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// Their turn in the layer `name` (index `index` in the schedule).
    Layer { index: usize, name: String },
    /// An override, with its reason if one was given.
    Override { reason: Option<String> },
}

/// The answer to "who is on call at `t`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCall {
    pub user: String,
    pub source: Source,
    /// When this user started being on call from this source, without a
    /// break. `None`: longer ago than [`LOOKAROUND`].
    pub shift_start: Option<DateTime<Utc>>,
    /// When it stops (the user's replacement, or nobody, takes over).
    /// `None`: not within [`LOOKAROUND`].
    pub shift_end: Option<DateTime<Utc>>,
}

/// One stretch of the final schedule with one person on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Every source that put the user on call during the shift, in order.
    pub sources: Vec<Source>,
}

/// How far [`who_is_on_call`] looks for the start and end of the current
/// shift.
pub const LOOKAROUND: TimeDelta = TimeDelta::days(183);

/// Who is on call for `schedule` at `at`: an override covering `at`, else
/// the member of the last layer that has someone on call, else nobody.
pub fn who_is_on_call(schedule: &Schedule, at: DateTime<Utc>) -> Option<OnCall> {
    let state = schedule.state_at(at)?;
    let horizon_end = at.checked_add_signed(LOOKAROUND);
    let mut shift_end = None;
    let mut t = at;
    while let Some(next) = schedule.next_change_after(t) {
        if horizon_end.is_some_and(|h| next > h) {
            break;
        }
        if schedule.state_at(next).as_ref() != Some(&state) {
            shift_end = Some(next);
            break;
        }
        t = next;
    }
    let horizon_start = at.checked_sub_signed(LOOKAROUND);
    let mut shift_start = None;
    let mut t = at;
    while let Some(prev) = schedule.prev_change_at_or_before(t) {
        if horizon_start.is_some_and(|h| prev < h) {
            break;
        }
        let before = prev - TimeDelta::nanoseconds(1);
        if schedule.state_at(before).as_ref() != Some(&state) {
            shift_start = Some(prev);
            break;
        }
        t = before;
    }
    Some(OnCall {
        user: state.user,
        source: state.source,
        shift_start,
        shift_end,
    })
}

/// The final schedule over `[from, to)`: who is on call when, shifts clipped
/// to the range, consecutive shifts of the same person merged, nobody's
/// time left out. Work is linear in the number of handoffs in the range.
pub fn shifts(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Shift> {
    let mut out: Vec<Shift> = Vec::new();
    if from >= to {
        return out;
    }
    let mut push = |state: Option<State>, start: DateTime<Utc>, end: DateTime<Utc>| {
        let Some(state) = state else { return };
        match out.last_mut() {
            Some(last) if last.user == state.user && last.end == start => {
                last.end = end;
                if last.sources.last() != Some(&state.source) {
                    last.sources.push(state.source);
                }
            }
            _ => out.push(Shift {
                user: state.user,
                start,
                end,
                sources: vec![state.source],
            }),
        }
    };
    let mut state = schedule.state_at(from);
    let mut start = from;
    let mut t = from;
    loop {
        match schedule.next_change_after(t) {
            Some(next) if next < to => {
                let next_state = schedule.state_at(next);
                if next_state != state {
                    push(state, start, next);
                    state = next_state;
                    start = next;
                }
                t = next;
            }
            _ => {
                push(state, start, to);
                break;
            }
        }
    }
    out
}

/// Just the user of [`who_is_on_call`], without looking for the shift's ends.
pub(crate) fn user_on_call(schedule: &Schedule, at: DateTime<Utc>) -> Option<String> {
    schedule.state_at(at).map(|s| s.user)
}

/// Who the final schedule has at one instant, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    user: String,
    source: Source,
}

impl Schedule {
    fn state_at(&self, t: DateTime<Utc>) -> Option<State> {
        if let Some(o) = self.overrides.iter().find(|o| o.start <= t && t < o.end) {
            return Some(State {
                user: o.user.clone(),
                source: Source::Override {
                    reason: o.reason.clone(),
                },
            });
        }
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, layer)| {
                let member = layer.member_at(self.time_zone, t)?;
                Some(State {
                    user: layer.members.get(member)?.clone(),
                    source: Source::Layer {
                        index,
                        name: layer.name.clone(),
                    },
                })
            })
    }

    fn next_change_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let overrides = self
            .overrides
            .iter()
            .flat_map(|o| [o.start, o.end])
            .filter(|c| *c > t);
        let layers = self
            .layers
            .iter()
            .filter_map(|l| l.next_change_after(self.time_zone, t));
        overrides.chain(layers).min()
    }

    fn prev_change_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let overrides = self
            .overrides
            .iter()
            .flat_map(|o| [o.start, o.end])
            .filter(|c| *c <= t);
        let layers = self
            .layers
            .iter()
            .filter_map(|l| l.prev_change_at_or_before(self.time_zone, t));
        overrides.chain(layers).max()
    }
}
