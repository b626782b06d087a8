//! The PromQL functions homeostat evaluates, resolved once from the name the
//! parser hands over, so evaluation dispatches on a closed enum (the compiler
//! checks every case is handled) instead of comparing strings.

use chrono::{Datelike, TimeZone, Timelike, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Time,
    Pi,
    Vector,
    Scalar,
    Absent,
    AbsentOverTime,
    Timestamp,
    LabelReplace,
    LabelJoin,
    Sort {
        desc: bool,
    },
    SortByLabel {
        desc: bool,
    },
    HistogramQuantile,
    HistogramFraction,
    /// `histogram_count`, `_sum`, `_avg`, `_stddev`, `_stdvar`: defined on
    /// native histograms only, which homeostat does not store.
    NativeHistogramOnly,
    Round,
    Clamp,
    ClampMin,
    ClampMax,
    Math(MathFn),
    Date(DateFn),
    Range(RangeFn),
}

impl Function {
    /// `None` for a function the parser knows but homeostat does not evaluate.
    pub(crate) fn parse(name: &str) -> Option<Function> {
        use Function as F;
        Some(match name {
            "time" => F::Time,
            "pi" => F::Pi,
            "vector" => F::Vector,
            "scalar" => F::Scalar,
            "absent" => F::Absent,
            "absent_over_time" => F::AbsentOverTime,
            "timestamp" => F::Timestamp,
            "label_replace" => F::LabelReplace,
            "label_join" => F::LabelJoin,
            "sort" => F::Sort { desc: false },
            "sort_desc" => F::Sort { desc: true },
            "sort_by_label" => F::SortByLabel { desc: false },
            "sort_by_label_desc" => F::SortByLabel { desc: true },
            "histogram_quantile" => F::HistogramQuantile,
            "histogram_fraction" => F::HistogramFraction,
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => F::NativeHistogramOnly,
            "round" => F::Round,
            "clamp" => F::Clamp,
            "clamp_min" => F::ClampMin,
            "clamp_max" => F::ClampMax,
            _ => {
                return MathFn::parse(name)
                    .map(F::Math)
                    .or_else(|| DateFn::parse(name).map(F::Date))
                    .or_else(|| RangeFn::parse(name).map(F::Range));
            }
        })
    }

    /// Whether the result keeps its input's metric name (Prometheus drops it
    /// for every function except these).
    pub(crate) fn keeps_name(self) -> bool {
        matches!(
            self,
            Function::Range(RangeFn::LastOverTime | RangeFn::FirstOverTime)
                | Function::Sort { .. }
                | Function::SortByLabel { .. }
                | Function::LabelReplace
                | Function::LabelJoin
        )
    }
}

/// Element-wise `f64 -> f64` functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MathFn {
    Abs,
    Ceil,
    Floor,
    Exp,
    Sqrt,
    Ln,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Deg,
    Rad,
    Sgn,
}

impl MathFn {
    fn parse(name: &str) -> Option<MathFn> {
        use MathFn as M;
        Some(match name {
            "abs" => M::Abs,
            "ceil" => M::Ceil,
            "floor" => M::Floor,
            "exp" => M::Exp,
            "sqrt" => M::Sqrt,
            "ln" => M::Ln,
            "log2" => M::Log2,
            "log10" => M::Log10,
            "sin" => M::Sin,
            "cos" => M::Cos,
            "tan" => M::Tan,
            "asin" => M::Asin,
            "acos" => M::Acos,
            "atan" => M::Atan,
            "sinh" => M::Sinh,
            "cosh" => M::Cosh,
            "tanh" => M::Tanh,
            "asinh" => M::Asinh,
            "acosh" => M::Acosh,
            "atanh" => M::Atanh,
            "deg" => M::Deg,
            "rad" => M::Rad,
            "sgn" => M::Sgn,
            _ => return None,
        })
    }

    pub(crate) fn apply(self, v: f64) -> f64 {
        use MathFn as M;
        match self {
            M::Abs => v.abs(),
            M::Ceil => v.ceil(),
            M::Floor => v.floor(),
            M::Exp => v.exp(),
            M::Sqrt => v.sqrt(),
            M::Ln => v.ln(),
            M::Log2 => v.log2(),
            M::Log10 => v.log10(),
            M::Sin => v.sin(),
            M::Cos => v.cos(),
            M::Tan => v.tan(),
            M::Asin => v.asin(),
            M::Acos => v.acos(),
            M::Atan => v.atan(),
            M::Sinh => v.sinh(),
            M::Cosh => v.cosh(),
            M::Tanh => v.tanh(),
            M::Asinh => v.asinh(),
            M::Acosh => v.acosh(),
            M::Atanh => v.atanh(),
            M::Deg => v * 180.0 / std::f64::consts::PI,
            M::Rad => v * std::f64::consts::PI / 180.0,
            // NaN and ±0 map to themselves, as in Prometheus.
            M::Sgn if v > 0.0 => 1.0,
            M::Sgn if v < 0.0 => -1.0,
            M::Sgn => v,
        }
    }
}

/// Calendar fields of a Unix time in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateFn {
    DayOfMonth,
    DayOfWeek,
    DayOfYear,
    DaysInMonth,
    Hour,
    Minute,
    Month,
    Year,
}

impl DateFn {
    fn parse(name: &str) -> Option<DateFn> {
        use DateFn as D;
        Some(match name {
            "day_of_month" => D::DayOfMonth,
            "day_of_week" => D::DayOfWeek,
            "day_of_year" => D::DayOfYear,
            "days_in_month" => D::DaysInMonth,
            "hour" => D::Hour,
            "minute" => D::Minute,
            "month" => D::Month,
            "year" => D::Year,
            _ => return None,
        })
    }

    pub(crate) fn apply(self, t: chrono::DateTime<Utc>) -> f64 {
        use DateFn as D;
        match self {
            D::DayOfMonth => t.day() as f64,
            D::DayOfWeek => t.weekday().num_days_from_sunday() as f64,
            D::DayOfYear => t.ordinal() as f64,
            D::DaysInMonth => {
                let (y, m) = (t.year(), t.month());
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                let first_next = Utc.with_ymd_and_hms(ny, nm, 1, 0, 0, 0).single();
                let first = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single();
                match (first, first_next) {
                    (Some(a), Some(b)) => (b - a).num_days() as f64,
                    _ => f64::NAN,
                }
            }
            D::Hour => t.hour() as f64,
            D::Minute => t.minute() as f64,
            D::Month => t.month() as f64,
            D::Year => t.year() as f64,
        }
    }
}

/// Range-vector functions: one value per series and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Resets,
    Changes,
    AvgOverTime,
    SumOverTime,
    CountOverTime,
    MinOverTime,
    MaxOverTime,
    TsOfMinOverTime,
    TsOfMaxOverTime,
    LastOverTime,
    FirstOverTime,
    TsOfLastOverTime,
    TsOfFirstOverTime,
    PresentOverTime,
    StddevOverTime,
    StdvarOverTime,
    MadOverTime,
    QuantileOverTime,
    DoubleExponentialSmoothing,
}

impl RangeFn {
    fn parse(name: &str) -> Option<RangeFn> {
        Some(match name {
            "rate" => RangeFn::Rate,
            "increase" => RangeFn::Increase,
            "delta" => RangeFn::Delta,
            "irate" => RangeFn::Irate,
            "idelta" => RangeFn::Idelta,
            "deriv" => RangeFn::Deriv,
            "predict_linear" => RangeFn::PredictLinear,
            "resets" => RangeFn::Resets,
            "changes" => RangeFn::Changes,
            "avg_over_time" => RangeFn::AvgOverTime,
            "sum_over_time" => RangeFn::SumOverTime,
            "count_over_time" => RangeFn::CountOverTime,
            "min_over_time" => RangeFn::MinOverTime,
            "max_over_time" => RangeFn::MaxOverTime,
            "ts_of_min_over_time" => RangeFn::TsOfMinOverTime,
            "ts_of_max_over_time" => RangeFn::TsOfMaxOverTime,
            "last_over_time" => RangeFn::LastOverTime,
            "first_over_time" => RangeFn::FirstOverTime,
            "ts_of_last_over_time" => RangeFn::TsOfLastOverTime,
            "ts_of_first_over_time" => RangeFn::TsOfFirstOverTime,
            "present_over_time" => RangeFn::PresentOverTime,
            "stddev_over_time" => RangeFn::StddevOverTime,
            "stdvar_over_time" => RangeFn::StdvarOverTime,
            "mad_over_time" => RangeFn::MadOverTime,
            "quantile_over_time" => RangeFn::QuantileOverTime,
            "double_exponential_smoothing" => RangeFn::DoubleExponentialSmoothing,
            _ => return None,
        })
    }

    /// Counter functions warn when the series name does not look like a
    /// counter.
    pub(crate) fn expects_counter(self) -> bool {
        matches!(self, RangeFn::Rate | RangeFn::Increase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_their_variants() {
        assert_eq!(
            Function::parse("rate"),
            Some(Function::Range(RangeFn::Rate))
        );
        assert_eq!(
            Function::parse("sort_desc"),
            Some(Function::Sort { desc: true })
        );
        assert_eq!(Function::parse("ln"), Some(Function::Math(MathFn::Ln)));
        assert_eq!(Function::parse("hour"), Some(Function::Date(DateFn::Hour)));
        assert_eq!(Function::parse("no_such_function"), None);
        assert!(Function::parse("last_over_time").is_some_and(Function::keeps_name));
        assert!(!Function::parse("max_over_time").is_some_and(Function::keeps_name));
    }

    #[test]
    fn sgn_keeps_nan_and_signed_zero() {
        assert!(MathFn::Sgn.apply(f64::NAN).is_nan());
        assert!(MathFn::Sgn.apply(-0.0).is_sign_negative());
        assert_eq!(MathFn::Sgn.apply(-3.0), -1.0);
    }
}
