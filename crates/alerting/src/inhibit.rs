//! Inhibition: a firing alert matching a rule's source matchers mutes the
//! alerts matching its target matchers that carry the same values for the
//! `equal` labels (an absent label equals an absent label).

use homeostat_model::Labels;

use crate::matcher::Matchers;

/// One `inhibit_rules` entry, legacy `*_match`/`*_match_re` folded into the
/// matcher lists.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    pub source: Matchers,
    pub target: Matchers,
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Whether `target` is inhibited by one of the `firing` alerts.
    ///
    /// An alert that matches both sides cannot be inhibited by itself nor
    /// by other alerts that also match both sides; otherwise two such alerts
    /// would mute each other and neither would be sent.
    pub fn inhibits(&self, target: &Labels, firing: &[Labels]) -> bool {
        if !self.target.matches(target) {
            return false;
        }
        let two_sided = self.source.matches(target);
        firing.iter().any(|source| {
            self.source.matches(source)
                && self
                    .equal
                    .iter()
                    .all(|n| source.get(n).unwrap_or("") == target.get(n).unwrap_or(""))
                && !(two_sided && self.target.matches(source))
        })
    }
}

/// The inhibit rules of a config, applied together.
#[derive(Debug, Clone, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
}

impl Inhibitor {
    pub fn new(rules: &[InhibitRule]) -> Self {
        Self {
            rules: rules.to_vec(),
        }
    }

    /// Whether any rule inhibits `target`, given the alerts firing now
    /// (resolved alerts must be left out by the caller).
    pub fn is_inhibited(&self, target: &Labels, firing: &[Labels]) -> bool {
        self.inhibiting_rule(target, firing).is_some()
    }

    /// The first rule that inhibits `target`, for explaining why.
    pub fn inhibiting_rule(&self, target: &Labels, firing: &[Labels]) -> Option<&InhibitRule> {
        self.rules.iter().find(|r| r.inhibits(target, firing))
    }
}
