//! The custom scalars of the API (client conventions, docs/api.md): `Date`, `DateTime` and
//! `Decimal`, each with one fixed text form, so that every client's cache and codegen
//! sees the same value for the same instant or amount.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date, ISO 8601 `YYYY-MM-DD` (`2026-03-31`), without a time zone.
#[Scalar(
    name = "Date",
    specified_by_url = "https://scalars.graphql.org/andimarek/local-date.html"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::custom("expected a date as a string YYYY-MM-DD")),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// An instant, always in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, RFC 3339 in UTC with milliseconds (`2026-03-31T09:30:00.000Z`). Input
/// may carry any offset; it is converted to UTC.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://scalars.graphql.org/andimarek/date-time.html"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom("expected an RFC 3339 date-time such as 2026-03-31T09:30:00.000Z")
                }),
            _ => Err(InputValueError::custom(
                "expected an RFC 3339 date-time as a string such as 2026-03-31T09:30:00.000Z",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// An exact amount of money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    /// An amount the database keeps in cents, exactly (no floating point on the way).
    pub fn from_cents(cents: i64) -> Decimal {
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        Decimal(format!("{sign}{}.{:02}", abs / 100, abs % 100))
    }
}

/// An exact decimal number as a string (`"1234.50"`), never a float: amounts of money,
/// whose currency is the `currency` beside them.
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        let ok = |s: &str| {
            let digits = s.strip_prefix('-').unwrap_or(s);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
            !int.is_empty()
                && !frac.is_empty()
                && int.len() <= 30
                && frac.len() <= 30
                && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        };
        match &value {
            Value::String(s) if ok(s) => Ok(Decimal(s.clone())),
            _ => Err(InputValueError::custom(
                "expected a decimal number as a string such as \"1234.50\"",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_exact_decimals() {
        assert_eq!(Decimal::from_cents(123_450).0, "1234.50");
        assert_eq!(Decimal::from_cents(5).0, "0.05");
        assert_eq!(Decimal::from_cents(-101).0, "-1.01");
        assert_eq!(Decimal::from_cents(i64::MIN).0, "-92233720368547758.08");
        assert_eq!(Decimal::from_cents(9_007_199_254_740_993).0, "90071992547409.93");
    }

    #[test]
    fn date_times_always_carry_milliseconds_in_utc() {
        let t = DateTime::parse(Value::String("2026-03-31T11:30:00+02:00".into())).unwrap();
        assert_eq!(t.to_value(), Value::String("2026-03-31T09:30:00.000Z".into()));
        assert!(DateTime::parse(Value::String("31.03.2026".into())).is_err());
        assert!(Date::parse(Value::String("2026-02-30".into())).is_err());
        assert_eq!(
            Date::parse(Value::String("2026-03-31".into()))
                .unwrap()
                .to_value(),
            Value::String("2026-03-31".into())
        );
    }
}
