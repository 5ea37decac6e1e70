//! The SLA engine: business-hours calendars and the derivation of a ticket's SLA
//! clocks (first response and resolution) from its status history.
//!
//! Everything here is pure: no I/O, no SQL, no reading of the clock. The ticket
//! code calls [`derive_sla`] on every change with the whole history and `now`,
//! and stores what it returns; since the answer is a function of the inputs
//! alone, a restart, a replay or a policy change recomputes the same state
//! instead of patching a stored one.
//!
//! # Business time
//!
//! A [`Calendar`] opens at local wall-clock times in an IANA time zone: per
//! weekday, sorted and disjoint intervals `[start, end)` of whole minutes
//! (`24:00` may end one), minus holidays (civil dates, closed all day).
//! Business time is *real elapsed time while open*: every interval boundary is
//! turned into an instant and the instants are subtracted. So 09:00–18:00 is
//! nine hours on the 23-hour and on the 25-hour day alike, and an interval that
//! itself contains a daylight-saving change counts its real length (00:00–24:00
//! is 23 hours on the spring-forward day).
//!
//! A boundary at a local time that does not exist or that repeats maps to the
//! first instant at which the wall clock reads that time or later: inside a gap
//! (02:30 on the day Europe/Rome jumps from 02:00 to 03:00) that is the
//! transition itself (03:00 CEST); inside a fold (02:30 on the day it goes back
//! from 03:00 to 02:00) it is the first occurrence (02:30 CEST). The rule is
//! monotone, so intervals never overlap and nothing is counted twice.
//!
//! # Clocks
//!
//! A clock counts business time while it runs, and its target is breached at
//! the first instant its count reaches the target: the due instant is the first
//! breached instant, so a response must come strictly before it.
//!
//! - The first-response clock runs from creation until the first public staff
//!   response, or until the ticket is first resolved or closed, whichever comes
//!   first. Pausing statuses do not pause it: a ticket awaits its first answer
//!   whatever its status.
//! - The resolution clock runs from creation, stops while the ticket is in a
//!   status that pauses the SLA, and stops when it is resolved or closed (met,
//!   unless the target had been reached). Reopening resumes it from the reopen
//!   instant with the business time already counted: time spent paused,
//!   resolved or closed never counts, so the due instant moves later by exactly
//!   the business time spent there. While paused, the due instant is unknown:
//!   it is reported as `None` with [`SlaReport::paused`] set.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const MINUTES_PER_DAY: u16 = 1_440;

/// The longest business duration accepted: ten years of round-the-clock time.
pub const MAX_BUSINESS_DURATION_MS: i64 = 3_660 * DAY_MS;

/// How many days past its start [`Calendar::add_business`] looks for the due
/// instant before it gives up (about a hundred years).
pub const HORIZON_DAYS: i64 = 36_600;

/// The earliest instant accepted: 1900-01-01T00:00:00Z.
pub const MIN_INSTANT_MS: i64 = days_from_civil(1900, 1, 1) * DAY_MS;

/// The first instant no longer accepted: 3000-01-01T00:00:00Z.
pub const MAX_INSTANT_MS: i64 = days_from_civil(3000, 1, 1) * DAY_MS;

/// At most this many opening intervals on one weekday.
pub const MAX_INTERVALS_PER_DAY: usize = 48;

/// At most this many holidays in one calendar.
pub const MAX_HOLIDAYS: usize = 5_000;

/// The weekday keys of a definition, Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Why a calendar definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone is not in the IANA time zone database.
    #[error("unknown time zone `{name}`: use an IANA name such as `Europe/Rome`")]
    UnknownTimeZone {
        /// The name given.
        name: String,
    },
    /// A time is not written `HH:MM` between 00:00 and 24:00.
    #[error("`{value}` on {day} is not a time of day: write HH:MM, from 00:00 to 24:00")]
    InvalidTime {
        /// The weekday key (`mon` to `sun`).
        day: &'static str,
        /// The text given.
        value: String,
    },
    /// An interval ends before it starts, or when it starts.
    #[error("the interval {start}-{end} on {day} does not end after it starts")]
    EndNotAfterStart {
        /// The weekday key.
        day: &'static str,
        /// The interval's start as given.
        start: String,
        /// The interval's end as given.
        end: String,
    },
    /// The intervals of a day are not listed in order of their start.
    #[error("the intervals on {day} are not in order: {next} is listed after {previous}")]
    UnsortedIntervals {
        /// The weekday key.
        day: &'static str,
        /// The start of the interval listed first.
        previous: String,
        /// The earlier start listed after it.
        next: String,
    },
    /// Two intervals of a day overlap.
    #[error("the intervals {first} and {second} on {day} overlap")]
    OverlappingIntervals {
        /// The weekday key.
        day: &'static str,
        /// The first interval, `start-end`.
        first: String,
        /// The interval that starts before the first one ends.
        second: String,
    },
    /// A weekday has more intervals than [`MAX_INTERVALS_PER_DAY`].
    #[error("{day} has {count} intervals, more than the {max} allowed")]
    TooManyIntervals {
        /// The weekday key.
        day: &'static str,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A holiday is not a civil date written `YYYY-MM-DD`.
    #[error("`{value}` is not a holiday date: write YYYY-MM-DD")]
    InvalidHoliday {
        /// The text given.
        value: String,
    },
    /// There are more holidays than [`MAX_HOLIDAYS`].
    #[error("the calendar has {count} holidays, more than the {max} allowed")]
    TooManyHolidays {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An always-open calendar was given weekly hours as well.
    #[error("an always-open calendar takes no weekly hours")]
    AlwaysOpenWithWeek,
    /// No weekday has any opening interval, so no target could ever be met.
    #[error("the calendar has no opening hours: add an interval or make it always open")]
    NoOpeningHours,
}

/// Why a business-time computation could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessTimeError {
    /// The calendar is never open, so no business time ever elapses.
    #[error("the calendar has no opening hours")]
    NoOpeningHours,
    /// A duration is negative or longer than [`MAX_BUSINESS_DURATION_MS`].
    #[error("a business duration of {duration_ms} ms is negative or longer than {max_ms} ms")]
    DurationOutOfRange {
        /// The duration given.
        duration_ms: i64,
        /// The longest accepted.
        max_ms: i64,
    },
    /// An instant lies outside [`MIN_INSTANT_MS`]..[`MAX_INSTANT_MS`].
    #[error("the instant {instant_ms} ms is outside the supported years 1900 to 2999")]
    InstantOutOfRange {
        /// The instant given, in Unix milliseconds.
        instant_ms: i64,
    },
    /// The calendar opens too little for the duration to elapse within
    /// [`HORIZON_DAYS`] of the start.
    #[error("{duration_ms} ms of business time do not fit in this calendar within 100 years")]
    BeyondHorizon {
        /// The duration asked for.
        duration_ms: i64,
    },
}

/// One weekday's opening intervals as written: `[["09:00","13:00"],["14:00","18:00"]]`.
pub type DayDefinition = Vec<(String, String)>;

/// The weekly opening hours of a definition, one list of intervals per weekday.
/// A missing weekday is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekDefinition {
    /// Monday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub mon: DayDefinition,
    /// Tuesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub tue: DayDefinition,
    /// Wednesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub wed: DayDefinition,
    /// Thursday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub thu: DayDefinition,
    /// Friday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub fri: DayDefinition,
    /// Saturday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub sat: DayDefinition,
    /// Sunday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<String>>)]
    pub sun: DayDefinition,
}

impl WeekDefinition {
    /// The seven days, Monday first.
    fn days(&self) -> [&DayDefinition; 7] {
        [
            &self.mon, &self.tue, &self.wed, &self.thu, &self.fri, &self.sat, &self.sun,
        ]
    }
}

/// A calendar as stored (JSON in the database), before validation:
///
/// ```json
/// {"time_zone": "Europe/Rome",
///  "week": {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "fri": [["09:00", "17:00"]]},
///  "holidays": ["2026-12-25"]}
/// ```
///
/// `{"time_zone": "UTC", "always_open": true}` is the 24x7 calendar; an
/// always-open calendar with holidays is closed on those local dates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDefinition {
    /// IANA time zone name, such as `Europe/Rome`.
    pub time_zone: String,
    /// Open every minute of every day (but holidays); `week` must then be empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub always_open: bool,
    /// Weekly opening intervals in local time.
    #[serde(default)]
    pub week: WeekDefinition,
    /// Civil dates (`YYYY-MM-DD`) closed all day, in any order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

/// A validated business-hours calendar. Build one with [`Calendar::parse`] or by
/// deserializing a [`CalendarDefinition`]; it serializes back to its definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "CalendarDefinition", into = "CalendarDefinition")]
pub struct Calendar {
    definition: CalendarDefinition,
    time_zone: TimeZone,
    /// Per weekday, Monday first: `[start, end)` in minutes of the local day,
    /// sorted and disjoint.
    week: [Vec<(u16, u16)>; 7],
    /// Holidays as days since 1970-01-01, sorted and without duplicates.
    holidays: Vec<i64>,
    /// Business time in a week with no holiday and no offset change.
    weekly_ms: i64,
    /// Every instant is business time: no time zone arithmetic needed.
    every_instant_open: bool,
}

/// The bundled time zone database, read once per process: it is immutable data
/// compiled into the binary, so results never depend on the host's zoneinfo.
fn time_zone_database() -> &'static TimeZoneDatabase {
    static DATABASE: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DATABASE.get_or_init(TimeZoneDatabase::bundled)
}

impl TryFrom<CalendarDefinition> for Calendar {
    type Error = CalendarError;

    fn try_from(definition: CalendarDefinition) -> Result<Calendar, CalendarError> {
        Calendar::parse(definition)
    }
}

impl From<Calendar> for CalendarDefinition {
    fn from(calendar: Calendar) -> CalendarDefinition {
        calendar.definition
    }
}

impl Calendar {
    /// Validates a definition.
    pub fn parse(definition: CalendarDefinition) -> Result<Calendar, CalendarError> {
        let time_zone = time_zone_database()
            .get(&definition.time_zone)
            .map_err(|_| CalendarError::UnknownTimeZone {
                name: definition.time_zone.clone(),
            })?;

        let mut week: [Vec<(u16, u16)>; 7] = Default::default();
        if definition.always_open {
            if definition.week.days().iter().any(|day| !day.is_empty()) {
                return Err(CalendarError::AlwaysOpenWithWeek);
            }
            for day in &mut week {
                day.push((0, MINUTES_PER_DAY));
            }
        } else {
            for ((day, intervals), parsed) in WEEKDAYS
                .iter()
                .zip(definition.week.days())
                .zip(week.iter_mut())
            {
                *parsed = parse_day(day, intervals)?;
            }
        }
        let weekly_minutes: i64 = week
            .iter()
            .flatten()
            .map(|&(start, end)| i64::from(end - start))
            .sum();
        if weekly_minutes == 0 {
            return Err(CalendarError::NoOpeningHours);
        }

        if definition.holidays.len() > MAX_HOLIDAYS {
            return Err(CalendarError::TooManyHolidays {
                count: definition.holidays.len(),
                max: MAX_HOLIDAYS,
            });
        }
        let mut holidays = definition
            .holidays
            .iter()
            .map(|value| {
                parse_date(value).ok_or_else(|| CalendarError::InvalidHoliday {
                    value: value.clone(),
                })
            })
            .collect::<Result<Vec<i64>, CalendarError>>()?;
        holidays.sort_unstable();
        holidays.dedup();

        let every_instant_open = definition.always_open && holidays.is_empty();
        Ok(Calendar {
            definition,
            time_zone,
            week,
            holidays,
            weekly_ms: weekly_minutes * MINUTE_MS,
            every_instant_open,
        })
    }

    /// The 24x7 calendar: every instant is business time.
    pub fn always_open() -> Calendar {
        Calendar {
            definition: CalendarDefinition {
                time_zone: "UTC".to_owned(),
                always_open: true,
                week: WeekDefinition::default(),
                holidays: Vec::new(),
            },
            time_zone: TimeZone::UTC,
            week: std::array::from_fn(|_| vec![(0, MINUTES_PER_DAY)]),
            holidays: Vec::new(),
            weekly_ms: 7 * DAY_MS,
            every_instant_open: true,
        }
    }

    /// The definition this calendar was built from.
    pub fn definition(&self) -> &CalendarDefinition {
        &self.definition
    }

    /// The instant at which `duration_ms` of business time has elapsed after
    /// `start_ms` (Unix milliseconds). A start outside opening hours starts the
    /// count at the next opening. The answer is the earliest such instant: a
    /// duration that runs out exactly at a closing time is due at that closing
    /// time, and a zero duration is due at `start_ms` itself.
    ///
    /// Whole weeks without holidays or offset changes are skipped in one step,
    /// so the cost grows with the number of holidays and daylight-saving
    /// changes crossed, not with the duration.
    pub fn add_business(&self, start_ms: i64, duration_ms: i64) -> Result<i64, BusinessTimeError> {
        self.add_business_walk(start_ms, duration_ms, Walk::SkipRegularWeeks)
            .map(|(due_ms, _)| due_ms)
    }

    /// The business time elapsed between `from_ms` and `to_ms`; zero when
    /// `to_ms` is not after `from_ms`.
    pub fn business_between(&self, from_ms: i64, to_ms: i64) -> Result<i64, BusinessTimeError> {
        self.business_between_walk(from_ms, to_ms, Walk::SkipRegularWeeks)
            .map(|(elapsed_ms, _)| elapsed_ms)
    }

    /// [`Calendar::add_business`], also returning how many days it examined one
    /// by one (for tests of its cost).
    fn add_business_walk(
        &self,
        start_ms: i64,
        duration_ms: i64,
        walk: Walk,
    ) -> Result<(i64, u32), BusinessTimeError> {
        check_instant(start_ms)?;
        if !(0..=MAX_BUSINESS_DURATION_MS).contains(&duration_ms) {
            return Err(BusinessTimeError::DurationOutOfRange {
                duration_ms,
                max_ms: MAX_BUSINESS_DURATION_MS,
            });
        }
        if self.weekly_ms == 0 {
            return Err(BusinessTimeError::NoOpeningHours);
        }
        if duration_ms == 0 {
            return Ok((start_ms, 0));
        }
        if self.every_instant_open {
            return Ok((start_ms + duration_ms, 0));
        }

        let first_day = self.local_day(start_ms)?;
        let last_day = first_day + HORIZON_DAYS;
        let mut remaining_ms = duration_ms;
        let mut day = first_day;
        let mut regular_until = i64::MIN;
        let mut days_walked = 0;
        let mut intervals = Vec::with_capacity(4);
        while day <= last_day {
            // Every interval of a day two days after the start's local date
            // begins after the start, so from there whole weeks may be counted
            // without looking at their intervals.
            if walk == Walk::SkipRegularWeeks && day >= first_day + 2 {
                if day >= regular_until {
                    regular_until = self.regular_until(day)?;
                }
                let weeks = (regular_until.saturating_sub(day) / 7)
                    .min((remaining_ms - 1) / self.weekly_ms);
                if weeks > 0 {
                    day += 7 * weeks;
                    remaining_ms -= weeks * self.weekly_ms;
                    continue;
                }
            }
            days_walked += 1;
            self.day_intervals(day, &mut intervals)?;
            for &(open_ms, close_ms) in &intervals {
                let from_ms = open_ms.max(start_ms);
                if close_ms <= from_ms {
                    continue;
                }
                let length_ms = close_ms - from_ms;
                if length_ms >= remaining_ms {
                    return Ok((from_ms + remaining_ms, days_walked));
                }
                remaining_ms -= length_ms;
            }
            day += 1;
        }
        Err(BusinessTimeError::BeyondHorizon { duration_ms })
    }

    /// [`Calendar::business_between`], also returning how many days it examined
    /// one by one.
    fn business_between_walk(
        &self,
        from_ms: i64,
        to_ms: i64,
        walk: Walk,
    ) -> Result<(i64, u32), BusinessTimeError> {
        check_instant(from_ms)?;
        check_instant(to_ms)?;
        if to_ms <= from_ms || self.weekly_ms == 0 {
            return Ok((0, 0));
        }
        if self.every_instant_open {
            return Ok((to_ms - from_ms, 0));
        }

        let first_day = self.local_day(from_ms)?;
        let to_day = self.local_day(to_ms)?;
        let mut total_ms = 0;
        let mut day = first_day;
        let mut regular_until = i64::MIN;
        let mut days_walked = 0;
        let mut intervals = Vec::with_capacity(4);
        // Intervals of the day after `to_ms`'s local date can still begin
        // before it when a fold repeats the hour before midnight.
        'days: while day <= to_day + 1 {
            if walk == Walk::SkipRegularWeeks && day >= first_day + 2 {
                if day >= regular_until {
                    regular_until = self.regular_until(day)?;
                }
                // Days before `to_day` end before `to_ms`: the first instant
                // of `to_day` is at or before it.
                let weeks = (regular_until.saturating_sub(day) / 7).min((to_day - day) / 7);
                if weeks > 0 {
                    day += 7 * weeks;
                    total_ms += weeks * self.weekly_ms;
                    continue;
                }
            }
            days_walked += 1;
            self.day_intervals(day, &mut intervals)?;
            for &(open_ms, close_ms) in &intervals {
                if open_ms >= to_ms {
                    break 'days;
                }
                let start_ms = open_ms.max(from_ms);
                let end_ms = close_ms.min(to_ms);
                if end_ms > start_ms {
                    total_ms += end_ms - start_ms;
                }
            }
            day += 1;
        }
        Ok((total_ms, days_walked))
    }

    /// The opening intervals of a local day as instants, in order, without
    /// empty ones (a holiday has none).
    fn day_intervals(&self, day: i64, out: &mut Vec<(i64, i64)>) -> Result<(), BusinessTimeError> {
        out.clear();
        if self.holidays.binary_search(&day).is_ok() {
            return Ok(());
        }
        for &(start, end) in &self.week[weekday_index(day)] {
            let open_ms = self.boundary_ms(day, start)?;
            let close_ms = self.boundary_ms(day, end)?;
            if close_ms > open_ms {
                out.push((open_ms, close_ms));
            }
        }
        Ok(())
    }

    /// The first instant at which the local wall clock reads `minute` of `day`
    /// or later: the instant itself when it exists once, the transition when it
    /// falls in a gap, the first occurrence when it falls in a fold.
    fn boundary_ms(&self, day: i64, minute: u16) -> Result<i64, BusinessTimeError> {
        let (day, minute) = if minute >= MINUTES_PER_DAY {
            (day + 1, minute - MINUTES_PER_DAY)
        } else {
            (day, minute)
        };
        let local_ms = day * DAY_MS + i64::from(minute) * MINUTE_MS;
        let out_of_range = || BusinessTimeError::InstantOutOfRange {
            instant_ms: local_ms,
        };
        let (year, month, day_of_month) = civil_from_days(day);
        let year = i16::try_from(year).map_err(|_| out_of_range())?;
        // Months, days, hours and minutes are in range by construction.
        let date_time = DateTime::new(
            year,
            month as i8,
            day_of_month as i8,
            (minute / 60) as i8,
            (minute % 60) as i8,
            0,
            0,
        )
        .map_err(|_| out_of_range())?;
        match self.time_zone.to_ambiguous_timestamp(date_time).offset() {
            AmbiguousOffset::Unambiguous { offset } => Ok(local_ms - offset_ms(offset)),
            AmbiguousOffset::Fold { before, .. } => Ok(local_ms - offset_ms(before)),
            AmbiguousOffset::Gap { before, .. } => {
                // Read with the offset in force before the gap, the local time
                // lands at or after the transition, by less than the gap.
                let after_transition_ms = local_ms - offset_ms(before);
                let probe = Timestamp::from_millisecond(after_transition_ms + 1)
                    .map_err(|_| out_of_range())?;
                Ok(self
                    .time_zone
                    .preceding(probe)
                    .next()
                    .map_or(after_transition_ms, |transition| {
                        transition.timestamp().as_millisecond()
                    }))
            }
        }
    }

    /// The local date of an instant, as days since 1970-01-01.
    fn local_day(&self, instant_ms: i64) -> Result<i64, BusinessTimeError> {
        let timestamp = Timestamp::from_millisecond(instant_ms)
            .map_err(|_| BusinessTimeError::InstantOutOfRange { instant_ms })?;
        let offset = self.time_zone.to_offset(timestamp);
        Ok((instant_ms + offset_ms(offset)).div_euclid(DAY_MS))
    }

    /// The first day from `day` on that may not be regular: a holiday, or the
    /// day before a change of UTC offset. Every day in between holds exactly
    /// its weekday's intervals at one offset, so any seven of them in a row hold
    /// `weekly_ms` of business time.
    fn regular_until(&self, day: i64) -> Result<i64, BusinessTimeError> {
        let next_holiday = self
            .holidays
            .get(self.holidays.partition_point(|&holiday| holiday < day))
            .copied()
            .unwrap_or(i64::MAX);
        // Two days before the local day in UTC is before its first instant
        // whatever the offset, so no change affecting the day is missed.
        let search_from_ms = (day - 2) * DAY_MS;
        let search_from = Timestamp::from_millisecond(search_from_ms).map_err(|_| {
            BusinessTimeError::InstantOutOfRange {
                instant_ms: search_from_ms,
            }
        })?;
        let next_change = match self.time_zone.following(search_from).next() {
            Some(transition) => self.local_day(transition.timestamp().as_millisecond())? - 1,
            None => i64::MAX,
        };
        Ok(next_holiday.min(next_change))
    }
}

/// Whether a business-time walk may count whole regular weeks in one step; the
/// day-by-day walk is kept as the reference the tests compare against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    SkipRegularWeeks,
    #[cfg(test)]
    DayByDay,
}

fn check_instant(instant_ms: i64) -> Result<(), BusinessTimeError> {
    if (MIN_INSTANT_MS..MAX_INSTANT_MS).contains(&instant_ms) {
        Ok(())
    } else {
        Err(BusinessTimeError::InstantOutOfRange { instant_ms })
    }
}

fn offset_ms(offset: Offset) -> i64 {
    i64::from(offset.seconds()) * 1_000
}

/// Monday is 0; 1970-01-01 was a Thursday.
fn weekday_index(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day since 1970-01-01, as (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `HH:MM` from 00:00 to 24:00, as minutes of the day.
fn parse_time(value: &str) -> Option<u16> {
    let bytes = value.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return None;
    }
    let digits = [bytes[0], bytes[1], bytes[3], bytes[4]];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let [h1, h2, m1, m2] = digits.map(|digit| u16::from(digit - b'0'));
    let (hours, minutes) = (h1 * 10 + h2, m1 * 10 + m2);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= MINUTES_PER_DAY).then_some(total)
}

/// `YYYY-MM-DD`, as days since 1970-01-01.
fn parse_date(value: &str) -> Option<i64> {
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i16> {
        let part = value.get(range)?;
        if !part.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // jiff checks the month and the day within the month.
    let date =
        jiff::civil::Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()?;
    Some(days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    ))
}

fn parse_day(
    day: &'static str,
    intervals: &DayDefinition,
) -> Result<Vec<(u16, u16)>, CalendarError> {
    if intervals.len() > MAX_INTERVALS_PER_DAY {
        return Err(CalendarError::TooManyIntervals {
            day,
            count: intervals.len(),
            max: MAX_INTERVALS_PER_DAY,
        });
    }
    let mut parsed: Vec<(u16, u16)> = Vec::with_capacity(intervals.len());
    let mut previous: Option<(u16, u16, &String, &String)> = None;
    for (start_text, end_text) in intervals {
        let time = |value: &String| {
            parse_time(value).ok_or_else(|| CalendarError::InvalidTime {
                day,
                value: value.clone(),
            })
        };
        let (start, end) = (time(start_text)?, time(end_text)?);
        if end <= start {
            return Err(CalendarError::EndNotAfterStart {
                day,
                start: start_text.clone(),
                end: end_text.clone(),
            });
        }
        if let Some((previous_start, previous_end, previous_start_text, previous_end_text)) =
            previous
        {
            if start < previous_start {
                return Err(CalendarError::UnsortedIntervals {
                    day,
                    previous: previous_start_text.clone(),
                    next: start_text.clone(),
                });
            }
            if start < previous_end {
                return Err(CalendarError::OverlappingIntervals {
                    day,
                    first: format!("{previous_start_text}-{previous_end_text}"),
                    second: format!("{start_text}-{end_text}"),
                });
            }
        }
        previous = Some((start, end, start_text, end_text));
        parsed.push((start, end));
    }
    Ok(parsed)
}

/// The targets of the policy that applies to a ticket's priority.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlaTargets {
    /// Business time allowed until the first public staff response; `None` for
    /// no first-response target.
    pub first_response_ms: Option<i64>,
    /// Business time allowed until resolution, not counting paused, resolved
    /// or closed time; `None` for no resolution target.
    pub resolution_ms: Option<i64>,
    /// The share of a target after which the clock is at risk (0.8 warns at
    /// 80 %): greater than 0 and at most 1; `None` for no warning.
    pub warning_fraction: Option<f64>,
}

/// One entry of a ticket's status history: from `at_ms` on, the ticket is in a
/// status of this class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange<'a> {
    /// When the status was entered, in Unix milliseconds.
    pub at_ms: i64,
    /// Whether the status stops the resolution clock (a waiting status, say).
    /// Resolved and closed statuses stop it whatever this says.
    pub pauses_sla: bool,
    /// The status class: `new`, `open`, `waiting`, `paused`, `resolved` or `closed`.
    pub class: &'a str,
}

/// What the derivation needs to know about a ticket.
#[derive(Debug, Clone, Copy)]
pub struct TicketTimeline<'a> {
    /// When the ticket was created; both clocks start here.
    pub created_at_ms: i64,
    /// Status changes in any order (equal instants keep their order). The
    /// ticket is running (status `new`) from creation until the first of them;
    /// changes dated before creation count from creation, changes after `now`
    /// are ignored.
    pub status_history: &'a [StatusChange<'a>],
    /// The first public response by staff, if any.
    pub first_public_response_at_ms: Option<i64>,
}

/// Where an SLA clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    /// Running, below the warning threshold.
    Ok,
    /// Running, at or past the warning threshold but before the due instant.
    AtRisk,
    /// The target was reached before the clock stopped; this never goes back.
    Breached,
    /// Stopped by a pausing status; the due instant is unknown until it resumes.
    Paused,
    /// Stopped (responded, resolved or closed) before the target was reached.
    Met,
}

impl SlaState {
    /// How much a state calls for attention, to pick a ticket's overall state.
    fn severity(self) -> u8 {
        match self {
            SlaState::Met => 0,
            SlaState::Paused => 1,
            SlaState::Ok => 2,
            SlaState::AtRisk => 3,
            SlaState::Breached => 4,
        }
    }
}

/// One clock's state at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReport {
    /// The target, in business milliseconds.
    pub target_ms: i64,
    /// Business time counted so far (up to `now`, or up to the stop).
    pub elapsed_ms: i64,
    /// The first breached instant: when the target is reached if the clock
    /// keeps running (when it was reached, once breached). `None` while paused,
    /// and for a clock that never ran. For a met clock, the due instant in
    /// force when it stopped.
    pub due_at_ms: Option<i64>,
    /// When the warning threshold is or was reached: the instant to fire the
    /// warning at while running. `None` without a warning fraction, while
    /// paused or met below the threshold.
    pub warning_at_ms: Option<i64>,
    /// When the target was reached, once breached.
    pub breached_at_ms: Option<i64>,
    /// When the clock stopped for good (response, resolution or closing);
    /// `None` while it runs or is paused.
    pub stopped_at_ms: Option<i64>,
    /// The clock's state.
    pub state: SlaState,
}

/// A ticket's SLA at `now`, to store on the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaReport {
    /// The first-response clock, when the policy has that target.
    pub first_response: Option<ClockReport>,
    /// The resolution clock, when the policy has that target.
    pub resolution: Option<ClockReport>,
    /// The ticket is in a status that pauses the SLA.
    pub paused: bool,
    /// The most pressing clock state (breached, at risk, ok, paused, met in
    /// that order); `None` when the policy has no target.
    pub state: Option<SlaState>,
    /// The next instant after `now` at which a running clock reaches its
    /// warning threshold or its target: when to recompute and fire an event.
    pub next_change_at_ms: Option<i64>,
}

/// Why an SLA could not be derived.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SlaError {
    /// A target is not positive or is longer than [`MAX_BUSINESS_DURATION_MS`].
    #[error("the {target} target of {target_ms} ms must be positive and at most {max_ms} ms")]
    InvalidTarget {
        /// `first_response` or `resolution`.
        target: &'static str,
        /// The target given.
        target_ms: i64,
        /// The longest accepted.
        max_ms: i64,
    },
    /// The warning fraction is not greater than 0 and at most 1.
    #[error("the warning fraction {fraction} must be greater than 0 and at most 1")]
    InvalidWarningFraction {
        /// The fraction given.
        fraction: f64,
    },
    /// A status change names a class that does not exist.
    #[error("unknown status class `{class}`")]
    UnknownStatusClass {
        /// The class given.
        class: String,
    },
    /// A business-time computation failed.
    #[error(transparent)]
    BusinessTime(#[from] BusinessTimeError),
}

/// Whether a clock counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Running,
    Paused,
    Stopped,
}

/// A stretch of time during which a clock ran: `[start, end)`, or from `start`
/// on while it still runs.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start_ms: i64,
    end_ms: Option<i64>,
}

/// Derives a ticket's SLA clocks at `now_ms` from its whole history. The same
/// inputs always give the same report, so it can be recomputed at any time.
pub fn derive_sla(
    targets: &SlaTargets,
    calendar: &Calendar,
    timeline: &TicketTimeline<'_>,
    now_ms: i64,
) -> Result<SlaReport, SlaError> {
    let warning_fraction = match targets.warning_fraction {
        Some(fraction) if !(fraction > 0.0 && fraction <= 1.0) => {
            return Err(SlaError::InvalidWarningFraction { fraction });
        }
        other => other,
    };
    let check_target = |target: &'static str, value: Option<i64>| match value {
        Some(target_ms) if !(1..=MAX_BUSINESS_DURATION_MS).contains(&target_ms) => {
            Err(SlaError::InvalidTarget {
                target,
                target_ms,
                max_ms: MAX_BUSINESS_DURATION_MS,
            })
        }
        other => Ok(other),
    };
    let first_response_target = check_target("first_response", targets.first_response_ms)?;
    let resolution_target = check_target("resolution", targets.resolution_ms)?;

    let created_ms = timeline.created_at_ms;
    let mut changes = Vec::with_capacity(timeline.status_history.len());
    for change in timeline.status_history {
        let mode = match change.class {
            "resolved" | "closed" => Mode::Stopped,
            "new" | "open" | "waiting" | "paused" if change.pauses_sla => Mode::Paused,
            "new" | "open" | "waiting" | "paused" => Mode::Running,
            other => {
                return Err(SlaError::UnknownStatusClass {
                    class: other.to_owned(),
                });
            }
        };
        if change.at_ms <= now_ms {
            changes.push((change.at_ms.max(created_ms), mode));
        }
    }
    // Stable, so changes at the same instant keep their recorded order.
    changes.sort_by_key(|&(at_ms, _)| at_ms);

    let mut resolution_segments = Vec::new();
    let mut mode = Mode::Running;
    let mut running_since_ms = created_ms;
    let mut first_stop_ms = None;
    let mut last_stop_ms = None;
    for &(at_ms, next_mode) in &changes {
        if next_mode == Mode::Stopped {
            first_stop_ms.get_or_insert(at_ms);
            if mode != Mode::Stopped {
                last_stop_ms = Some(at_ms);
            }
        }
        match (mode == Mode::Running, next_mode == Mode::Running) {
            (true, false) => resolution_segments.push(Segment {
                start_ms: running_since_ms,
                end_ms: Some(at_ms),
            }),
            (false, true) => running_since_ms = at_ms,
            _ => {}
        }
        mode = next_mode;
    }
    if mode == Mode::Running {
        resolution_segments.push(Segment {
            start_ms: running_since_ms,
            end_ms: None,
        });
    }

    let first_response = match first_response_target {
        None => None,
        Some(target_ms) => {
            let response_ms = timeline
                .first_public_response_at_ms
                .filter(|&at_ms| at_ms <= now_ms)
                .map(|at_ms| at_ms.max(created_ms));
            let stop_ms = match (response_ms, first_stop_ms) {
                (Some(response), Some(stop)) => Some(response.min(stop)),
                (response, stop) => response.or(stop),
            };
            let (segment, clock_mode) = match stop_ms {
                Some(stop) => (
                    Segment {
                        start_ms: created_ms,
                        end_ms: Some(stop),
                    },
                    Mode::Stopped,
                ),
                None => (
                    Segment {
                        start_ms: created_ms,
                        end_ms: None,
                    },
                    Mode::Running,
                ),
            };
            Some(evaluate_clock(
                calendar,
                &[segment],
                clock_mode,
                stop_ms,
                target_ms,
                warning_fraction,
                now_ms,
            )?)
        }
    };
    let resolution = match resolution_target {
        None => None,
        Some(target_ms) => Some(evaluate_clock(
            calendar,
            &resolution_segments,
            mode,
            if mode == Mode::Stopped {
                last_stop_ms
            } else {
                None
            },
            target_ms,
            warning_fraction,
            now_ms,
        )?),
    };

    let clocks = [first_response, resolution];
    let state = clocks
        .iter()
        .flatten()
        .map(|clock| clock.state)
        .max_by_key(|state| state.severity());
    let next_change_at_ms = clocks
        .iter()
        .flatten()
        .filter(|clock| matches!(clock.state, SlaState::Ok | SlaState::AtRisk))
        .flat_map(|clock| [clock.warning_at_ms, clock.due_at_ms])
        .flatten()
        .filter(|&at_ms| at_ms > now_ms)
        .min();
    Ok(SlaReport {
        first_response,
        resolution,
        paused: mode == Mode::Paused,
        state,
        next_change_at_ms,
    })
}

/// One clock's report from the stretches during which it ran. `mode` is where
/// it stands at `now`; a running clock's last segment is open.
fn evaluate_clock(
    calendar: &Calendar,
    segments: &[Segment],
    mode: Mode,
    stopped_at_ms: Option<i64>,
    target_ms: i64,
    warning_fraction: Option<f64>,
    now_ms: i64,
) -> Result<ClockReport, BusinessTimeError> {
    // Rounded down, so the warning never comes after the share it stands for.
    let warning_ms = warning_fraction.map(|fraction| (target_ms as f64 * fraction).floor() as i64);
    let mut elapsed_ms = 0;
    let mut due_at_ms = None;
    let mut warning_at_ms = None;
    for (index, segment) in segments.iter().enumerate() {
        let length_ms =
            calendar.business_between(segment.start_ms, segment.end_ms.unwrap_or(now_ms))?;
        // A running clock's due instant lies in its open segment, possibly in
        // the future; a stopped one's is where it would have been had the last
        // segment gone on.
        let extends = index + 1 == segments.len() && mode != Mode::Paused;
        let counted_ms = if extends {
            i64::MAX
        } else {
            elapsed_ms + length_ms
        };
        if due_at_ms.is_none() && counted_ms >= target_ms {
            due_at_ms = Some(calendar.add_business(segment.start_ms, target_ms - elapsed_ms)?);
        }
        if let Some(threshold_ms) = warning_ms
            && warning_at_ms.is_none()
            && counted_ms >= threshold_ms
        {
            warning_at_ms =
                Some(calendar.add_business(segment.start_ms, threshold_ms - elapsed_ms)?);
        }
        elapsed_ms += length_ms;
    }

    let breached = elapsed_ms >= target_ms;
    let warned = warning_ms.is_some_and(|threshold_ms| elapsed_ms >= threshold_ms);
    let state = match mode {
        _ if breached => SlaState::Breached,
        Mode::Running if warned => SlaState::AtRisk,
        Mode::Running => SlaState::Ok,
        Mode::Paused => SlaState::Paused,
        Mode::Stopped => SlaState::Met,
    };
    if !warned && mode != Mode::Running {
        warning_at_ms = None;
    }
    Ok(ClockReport {
        target_ms,
        elapsed_ms,
        due_at_ms,
        warning_at_ms,
        breached_at_ms: if breached { due_at_ms } else { None },
        stopped_at_ms: if mode == Mode::Stopped {
            stopped_at_ms
        } else {
            None
        },
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    const HOUR_MS: i64 = 3_600_000;

    /// An instant written with its offset, so each expectation states the
    /// local time and the offset in force independently of the code under test.
    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>()
            .expect("a timestamp with an offset")
            .as_millisecond()
    }

    fn calendar(json: &str) -> Calendar {
        serde_json::from_str(json).expect("a valid calendar")
    }

    fn definition_error(json: &str) -> CalendarError {
        let definition: CalendarDefinition =
            serde_json::from_str(json).expect("a well-formed definition");
        Calendar::parse(definition).expect_err("an invalid calendar")
    }

    /// Monday to Friday 09:00-18:00 in Rome, with Christmas and a few more holidays.
    fn rome_office() -> Calendar {
        calendar(
            r#"{"time_zone":"Europe/Rome",
                "week":{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],
                        "wed":[["09:00","18:00"]],"thu":[["09:00","18:00"]],
                        "fri":[["09:00","18:00"]]},
                "holidays":["2026-12-25","2026-12-26","2027-01-01","2026-04-06"]}"#,
        )
    }

    /// Monday to Friday 09:00-13:00 and 14:00-18:00 in Rome.
    fn rome_split() -> Calendar {
        let day = r#"[["09:00","13:00"],["14:00","18:00"]]"#;
        calendar(&format!(
            r#"{{"time_zone":"Europe/Rome",
                "week":{{"mon":{day},"tue":{day},"wed":{day},"thu":{day},"fri":{day}}},
                "holidays":["2026-12-25","2027-04-05","2028-08-15"]}}"#
        ))
    }

    /// Every day 09:00-18:00 in Rome, weekends and DST Sundays included.
    fn rome_every_day() -> Calendar {
        let day = r#"[["09:00","18:00"]]"#;
        calendar(&format!(
            r#"{{"time_zone":"Europe/Rome",
                "week":{{"mon":{day},"tue":{day},"wed":{day},"thu":{day},"fri":{day},
                        "sat":{day},"sun":{day}}}}}"#
        ))
    }

    fn rome_with_sunday(sunday: &str) -> Calendar {
        calendar(&format!(
            r#"{{"time_zone":"Europe/Rome","week":{{"sun":{sunday}}}}}"#
        ))
    }

    // Definitions.

    #[test]
    fn definition_from_the_issue_parses_and_serializes_back() {
        let json = r#"{"time_zone":"Europe/Rome","week":{"mon":[["09:00","13:00"],["14:00","18:00"]],"fri":[["09:00","17:00"]]},"holidays":["2026-12-25"]}"#;
        let parsed = calendar(json);
        assert_eq!(parsed.weekly_ms, 16 * HOUR_MS);
        assert_eq!(parsed.holidays, vec![days_from_civil(2026, 12, 25)]);
        let back = serde_json::to_value(&parsed).expect("serializable");
        let original: serde_json::Value = serde_json::from_str(json).expect("json");
        assert_eq!(back, original);
    }

    #[test]
    fn always_open_definition_is_the_24x7_calendar() {
        let parsed = calendar(r#"{"time_zone":"UTC","always_open":true}"#);
        assert!(parsed.every_instant_open);
        assert_eq!(parsed.weekly_ms, 7 * DAY_MS);
        let built = Calendar::always_open();
        assert_eq!(built.definition(), parsed.definition());
    }

    #[rstest]
    #[case::bad_zone(
        r#"{"time_zone":"Europe/Atlantis","week":{"mon":[["09:00","18:00"]]}}"#,
        CalendarError::UnknownTimeZone { name: "Europe/Atlantis".into() }
    )]
    #[case::unsorted(
        r#"{"time_zone":"UTC","week":{"tue":[["14:00","18:00"],["09:00","13:00"]]}}"#,
        CalendarError::UnsortedIntervals { day: "tue", previous: "14:00".into(), next: "09:00".into() }
    )]
    #[case::overlapping(
        r#"{"time_zone":"UTC","week":{"wed":[["09:00","13:00"],["12:00","18:00"]]}}"#,
        CalendarError::OverlappingIntervals { day: "wed", first: "09:00-13:00".into(), second: "12:00-18:00".into() }
    )]
    #[case::end_before_start(
        r#"{"time_zone":"UTC","week":{"thu":[["18:00","09:00"]]}}"#,
        CalendarError::EndNotAfterStart { day: "thu", start: "18:00".into(), end: "09:00".into() }
    )]
    #[case::empty_interval(
        r#"{"time_zone":"UTC","week":{"fri":[["09:00","09:00"]]}}"#,
        CalendarError::EndNotAfterStart { day: "fri", start: "09:00".into(), end: "09:00".into() }
    )]
    #[case::bad_time(
        r#"{"time_zone":"UTC","week":{"sat":[["9:00","18:00"]]}}"#,
        CalendarError::InvalidTime { day: "sat", value: "9:00".into() }
    )]
    #[case::past_midnight(
        r#"{"time_zone":"UTC","week":{"sun":[["22:00","24:30"]]}}"#,
        CalendarError::InvalidTime { day: "sun", value: "24:30".into() }
    )]
    #[case::bad_holiday(
        r#"{"time_zone":"UTC","week":{"mon":[["09:00","18:00"]]},"holidays":["2026-02-30"]}"#,
        CalendarError::InvalidHoliday { value: "2026-02-30".into() }
    )]
    #[case::holiday_without_padding(
        r#"{"time_zone":"UTC","week":{"mon":[["09:00","18:00"]]},"holidays":["2026-1-5"]}"#,
        CalendarError::InvalidHoliday { value: "2026-1-5".into() }
    )]
    #[case::always_open_with_week(
        r#"{"time_zone":"UTC","always_open":true,"week":{"mon":[["09:00","18:00"]]}}"#,
        CalendarError::AlwaysOpenWithWeek
    )]
    #[case::no_hours(r#"{"time_zone":"UTC"}"#, CalendarError::NoOpeningHours)]
    #[case::only_empty_days(
        r#"{"time_zone":"UTC","week":{"mon":[],"tue":[]}}"#,
        CalendarError::NoOpeningHours
    )]
    fn invalid_definitions_are_refused_with_the_reason(
        #[case] json: &str,
        #[case] expected: CalendarError,
    ) {
        assert_eq!(definition_error(json), expected);
    }

    #[test]
    fn refusal_reaches_serde_with_a_clear_message() {
        let error = serde_json::from_str::<Calendar>(
            r#"{"time_zone":"UTC","week":{"mon":[["18:00","09:00"]]}}"#,
        )
        .expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("the interval 18:00-09:00 on mon does not end after it starts"),
            "{error}"
        );
    }

    #[rstest]
    #[case(r#"{"time_zone":"UTC","weeks":{}}"#)]
    #[case(r#"{"time_zone":"UTC","week":{"monday":[["09:00","18:00"]]}}"#)]
    #[case(r#"{"week":{"mon":[["09:00","18:00"]]}}"#)]
    #[case(r#"{"time_zone":"UTC","week":{"mon":[["09:00"]]}}"#)]
    fn malformed_definitions_do_not_deserialize(#[case] json: &str) {
        assert!(
            serde_json::from_str::<CalendarDefinition>(json).is_err(),
            "{json}"
        );
    }

    #[test]
    fn too_many_holidays_are_refused() {
        let holidays: Vec<String> = (0..=MAX_HOLIDAYS as i64)
            .map(|day| {
                let (year, month, day) = civil_from_days(20_000 + day);
                format!("{year:04}-{month:02}-{day:02}")
            })
            .collect();
        let definition = CalendarDefinition {
            time_zone: "UTC".into(),
            always_open: true,
            week: WeekDefinition::default(),
            holidays,
        };
        assert_eq!(
            Calendar::parse(definition).err(),
            Some(CalendarError::TooManyHolidays {
                count: MAX_HOLIDAYS + 1,
                max: MAX_HOLIDAYS
            })
        );
    }

    #[test]
    fn holidays_may_come_in_any_order_and_twice() {
        let parsed = calendar(
            r#"{"time_zone":"UTC","always_open":true,"holidays":["2026-12-26","2026-12-25","2026-12-26"]}"#,
        );
        assert_eq!(
            parsed.holidays,
            vec![days_from_civil(2026, 12, 25), days_from_civil(2026, 12, 26)]
        );
        assert!(!parsed.every_instant_open);
    }

    #[rstest]
    #[case("00:00", Some(0))]
    #[case("09:30", Some(570))]
    #[case("23:59", Some(1_439))]
    #[case("24:00", Some(1_440))]
    #[case("24:01", None)]
    #[case("12:60", None)]
    #[case("9:00", None)]
    #[case("09:00:00", None)]
    #[case("ab:cd", None)]
    #[case("+1:00", None)]
    #[case("", None)]
    fn times_are_strict_hours_and_minutes(#[case] text: &str, #[case] minutes: Option<u16>) {
        assert_eq!(parse_time(text), minutes);
    }

    #[test]
    fn day_numbers_agree_with_jiff() {
        let epoch = jiff::civil::date(1970, 1, 1);
        let mut day = MIN_INSTANT_MS / DAY_MS - 1;
        while day < MAX_INSTANT_MS / DAY_MS + HORIZON_DAYS {
            let (year, month, day_of_month) = civil_from_days(day);
            let date = jiff::civil::Date::new(year as i16, month as i8, day_of_month as i8)
                .expect("a real date");
            assert_eq!(date.duration_since(epoch).as_secs() / 86_400, day);
            assert_eq!(days_from_civil(year, month, day_of_month), day);
            assert_eq!(
                weekday_index(day),
                date.weekday().to_monday_zero_offset() as usize
            );
            day += 97;
        }
        assert_eq!(MIN_INSTANT_MS, at("1900-01-01T00:00:00Z"));
        assert_eq!(MAX_INSTANT_MS, at("3000-01-01T00:00:00Z"));
    }

    // Business time.

    #[test]
    fn target_running_into_the_weekend_continues_on_monday() {
        let office = rome_office();
        let start = at("2026-03-06T17:00:00+01:00"); // Friday
        let due = office.add_business(start, 2 * HOUR_MS).expect("due");
        assert_eq!(due, at("2026-03-09T10:00:00+01:00"));
        assert_eq!(office.business_between(start, due), Ok(2 * HOUR_MS));
        assert_eq!(
            office.business_between(
                at("2026-03-06T18:00:00+01:00"),
                at("2026-03-09T09:00:00+01:00")
            ),
            Ok(0)
        );
    }

    #[test]
    fn holidays_are_closed_all_day() {
        let office = rome_office();
        let start = at("2026-12-24T17:00:00+01:00"); // Thursday; Friday is Christmas
        let due = office.add_business(start, 3 * HOUR_MS).expect("due");
        assert_eq!(due, at("2026-12-28T11:00:00+01:00"));
        assert_eq!(office.business_between(start, due), Ok(3 * HOUR_MS));
        assert_eq!(
            office.business_between(
                at("2026-12-25T00:00:00+01:00"),
                at("2026-12-26T00:00:00+01:00")
            ),
            Ok(0)
        );
    }

    #[test]
    fn four_hours_from_friday_afternoon_across_the_march_change() {
        // Europe/Rome moves from +01:00 to +02:00 on Sunday 2026-03-29.
        let office = rome_office();
        let start = at("2026-03-27T16:00:00+01:00");
        let due = office.add_business(start, 4 * HOUR_MS).expect("due");
        assert_eq!(due, at("2026-03-30T11:00:00+02:00"));
        assert_eq!(office.business_between(start, due), Ok(4 * HOUR_MS));
    }

    #[test]
    fn four_hours_from_friday_afternoon_across_the_october_change() {
        // Europe/Rome moves from +02:00 back to +01:00 on Sunday 2026-10-25.
        let office = rome_office();
        let start = at("2026-10-23T16:00:00+02:00");
        let due = office.add_business(start, 4 * HOUR_MS).expect("due");
        assert_eq!(due, at("2026-10-26T11:00:00+01:00"));
        assert_eq!(office.business_between(start, due), Ok(4 * HOUR_MS));
    }

    #[rstest]
    #[case::short_day("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00")]
    #[case::long_day("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00")]
    #[case::ordinary_day("2026-05-10T00:00:00+02:00", "2026-05-11T00:00:00+02:00")]
    fn nine_to_six_is_nine_hours_on_every_day(#[case] from: &str, #[case] to: &str) {
        assert_eq!(
            rome_every_day().business_between(at(from), at(to)),
            Ok(9 * HOUR_MS)
        );
    }

    #[rstest]
    #[case::short_day("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23)]
    #[case::long_day("2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25)]
    fn an_interval_containing_the_change_counts_its_real_length(
        #[case] from: &str,
        #[case] to: &str,
        #[case] hours: i64,
    ) {
        let whole_sunday = rome_with_sunday(r#"[["00:00","24:00"]]"#);
        assert_eq!(
            whole_sunday.business_between(at(from), at(to)),
            Ok(hours * HOUR_MS)
        );
    }

    #[test]
    fn opening_inside_the_spring_gap_opens_at_the_transition() {
        // 02:30 does not exist on 2026-03-29: the clock jumps from 02:00 to 03:00.
        let calendar = rome_with_sunday(r#"[["02:30","04:00"]]"#);
        let sunday = at("2026-03-29T00:00:00+01:00");
        let due = calendar.add_business(sunday, 60_000).expect("due");
        assert_eq!(due, at("2026-03-29T03:01:00+02:00"));
        assert_eq!(
            calendar.business_between(sunday, at("2026-03-30T00:00:00+02:00")),
            Ok(HOUR_MS)
        );
        // An interval entirely inside the gap holds no time at all.
        let inside_gap = rome_with_sunday(r#"[["02:10","02:50"],["10:00","11:00"]]"#);
        assert_eq!(
            inside_gap.add_business(sunday, 60_000),
            Ok(at("2026-03-29T10:01:00+02:00"))
        );
    }

    #[test]
    fn boundaries_inside_the_autumn_fold_take_the_first_occurrence() {
        // 02:00-03:00 happens twice on 2026-10-25: first at +02:00, then at +01:00.
        let calendar = rome_with_sunday(r#"[["02:30","03:30"]]"#);
        let sunday = at("2026-10-25T00:00:00+02:00");
        let due = calendar.add_business(sunday, 60_000).expect("due");
        assert_eq!(due, at("2026-10-25T02:31:00+02:00"));
        assert_eq!(
            calendar.business_between(sunday, at("2026-10-26T00:00:00+01:00")),
            Ok(2 * HOUR_MS)
        );
        // On an ordinary Sunday the same interval is one hour.
        assert_eq!(
            calendar.business_between(
                at("2026-11-01T00:00:00+01:00"),
                at("2026-11-02T00:00:00+01:00")
            ),
            Ok(HOUR_MS)
        );
    }

    #[rstest]
    #[case::saturday("2026-03-07T10:00:00+01:00", "2026-03-09T10:00:00+01:00")]
    #[case::early_morning("2026-03-10T07:00:00+01:00", "2026-03-10T10:00:00+01:00")]
    #[case::evening("2026-03-10T20:00:00+01:00", "2026-03-11T10:00:00+01:00")]
    #[case::at_opening("2026-03-10T09:00:00+01:00", "2026-03-10T10:00:00+01:00")]
    #[case::at_closing("2026-03-10T18:00:00+01:00", "2026-03-11T10:00:00+01:00")]
    fn a_start_outside_hours_starts_the_clock_at_the_next_opening(
        #[case] start: &str,
        #[case] due: &str,
    ) {
        assert_eq!(rome_office().add_business(at(start), HOUR_MS), Ok(at(due)));
    }

    #[test]
    fn several_intervals_a_day_skip_the_lunch_break() {
        let split = rome_split();
        let monday_noon = at("2026-03-02T12:00:00+01:00");
        assert_eq!(
            split.add_business(monday_noon, 2 * HOUR_MS),
            Ok(at("2026-03-02T15:00:00+01:00"))
        );
        // Running out exactly at a closing is due at that closing, not at the
        // next opening.
        assert_eq!(
            split.add_business(monday_noon, HOUR_MS),
            Ok(at("2026-03-02T13:00:00+01:00"))
        );
        assert_eq!(
            split.business_between(
                at("2026-03-02T09:00:00+01:00"),
                at("2026-03-02T18:00:00+01:00")
            ),
            Ok(8 * HOUR_MS)
        );
        assert_eq!(
            split.business_between(
                at("2026-03-02T13:00:00+01:00"),
                at("2026-03-02T14:00:00+01:00")
            ),
            Ok(0)
        );
    }

    #[test]
    fn a_night_shift_runs_across_midnight() {
        let night = calendar(
            r#"{"time_zone":"Europe/Rome","week":{"mon":[["22:00","24:00"]],"tue":[["00:00","06:00"]]}}"#,
        );
        let start = at("2026-03-02T23:00:00+01:00");
        assert_eq!(
            night.add_business(start, 3 * HOUR_MS),
            Ok(at("2026-03-03T02:00:00+01:00"))
        );
        assert_eq!(night.weekly_ms, 8 * HOUR_MS);
        // The next Monday night after 5 more hours.
        assert_eq!(
            night.add_business(start, 8 * HOUR_MS),
            Ok(at("2026-03-09T23:00:00+01:00"))
        );
    }

    #[test]
    fn the_24x7_calendar_counts_every_millisecond() {
        let always = Calendar::always_open();
        let start = at("2026-03-28T23:30:00+01:00");
        assert_eq!(
            always.add_business(start, 5 * HOUR_MS),
            Ok(start + 5 * HOUR_MS)
        );
        assert_eq!(always.business_between(start, start + 1), Ok(1));
        assert_eq!(always.business_between(start, start - HOUR_MS), Ok(0));
    }

    #[test]
    fn an_always_open_calendar_with_holidays_closes_on_those_local_dates() {
        let calendar =
            calendar(r#"{"time_zone":"Europe/Rome","always_open":true,"holidays":["2026-03-29"]}"#);
        let saturday_evening = at("2026-03-28T23:00:00+01:00");
        assert_eq!(
            calendar.add_business(saturday_evening, 2 * HOUR_MS),
            Ok(at("2026-03-30T01:00:00+02:00"))
        );
    }

    #[test]
    fn a_calendar_without_hours_answers_with_an_error_not_a_loop() {
        let closed = Calendar {
            week: Default::default(),
            weekly_ms: 0,
            every_instant_open: false,
            ..rome_office()
        };
        let start = at("2026-03-02T09:00:00+01:00");
        assert_eq!(
            closed.add_business(start, HOUR_MS),
            Err(BusinessTimeError::NoOpeningHours)
        );
        assert_eq!(closed.business_between(start, start + 7 * DAY_MS), Ok(0));
    }

    #[test]
    fn a_calendar_open_too_little_gives_up_at_the_horizon_quickly() {
        let one_minute_a_week =
            calendar(r#"{"time_zone":"Europe/Rome","week":{"mon":[["10:00","10:01"]]}}"#);
        let start = at("2026-03-02T09:00:00+01:00");
        let result = one_minute_a_week.add_business_walk(
            start,
            MAX_BUSINESS_DURATION_MS,
            Walk::SkipRegularWeeks,
        );
        assert_eq!(
            result,
            Err(BusinessTimeError::BeyondHorizon {
                duration_ms: MAX_BUSINESS_DURATION_MS
            })
        );
        // A hundred years of minutes still fit.
        let due = one_minute_a_week
            .add_business(start, 5_000 * MINUTE_MS)
            .expect("within the horizon");
        assert_eq!(
            one_minute_a_week.business_between(start, due),
            Ok(5_000 * MINUTE_MS)
        );
    }

    #[rstest]
    #[case::negative(-1)]
    #[case::too_long(MAX_BUSINESS_DURATION_MS + 1)]
    #[case::absurd(i64::MAX)]
    fn absurd_durations_are_refused(#[case] duration_ms: i64) {
        assert_eq!(
            rome_office().add_business(at("2026-03-02T09:00:00+01:00"), duration_ms),
            Err(BusinessTimeError::DurationOutOfRange {
                duration_ms,
                max_ms: MAX_BUSINESS_DURATION_MS
            })
        );
    }

    #[rstest]
    #[case(i64::MIN)]
    #[case(MIN_INSTANT_MS - 1)]
    #[case(MAX_INSTANT_MS)]
    #[case(i64::MAX)]
    fn instants_outside_the_supported_years_are_refused(#[case] instant_ms: i64) {
        let office = rome_office();
        let expected = Err(BusinessTimeError::InstantOutOfRange { instant_ms });
        assert_eq!(office.add_business(instant_ms, HOUR_MS), expected);
        assert_eq!(
            office.business_between(instant_ms, at("2026-01-01T00:00:00Z")),
            expected
        );
    }

    #[test]
    fn a_zero_duration_is_due_at_the_start() {
        let saturday = at("2026-03-07T10:00:00+01:00");
        assert_eq!(rome_office().add_business(saturday, 0), Ok(saturday));
    }

    #[test]
    fn a_one_year_target_walks_only_the_irregular_days() {
        let office = rome_office();
        let start = at("2026-01-05T09:00:00+01:00");
        let year_ms = 365 * DAY_MS;
        let (due, days_walked) = office
            .add_business_walk(start, year_ms, Walk::SkipRegularWeeks)
            .expect("due");
        let (reference, reference_days) = office
            .add_business_walk(start, year_ms, Walk::DayByDay)
            .expect("due");
        assert_eq!(due, reference);
        // 365 x 24 h of a 45 h week is 194.7 weeks, some 3.7 years: about
        // 1,360 days one by one, but only the days around 4 holidays and 8
        // changes of offset when whole weeks are skipped.
        assert!(reference_days > 1_300, "{reference_days}");
        assert!(days_walked < 150, "{days_walked}");
        let (elapsed, between_days) = office
            .business_between_walk(start, due, Walk::SkipRegularWeeks)
            .expect("elapsed");
        assert_eq!(elapsed, year_ms);
        assert!(between_days < 150, "{between_days}");
    }

    // Properties.

    fn property_calendars() -> Vec<Calendar> {
        vec![
            rome_split(),
            rome_office(),
            calendar(
                r#"{"time_zone":"America/New_York","week":{"mon":[["08:00","17:00"]],"tue":[["08:00","17:00"]],"wed":[["08:00","17:00"]],"thu":[["08:00","17:00"]],"fri":[["08:00","12:00"]]},"holidays":["2026-07-03","2026-11-26","2027-07-05"]}"#,
            ),
            // Sunday intervals around the changes of offset, and a night shift.
            calendar(
                r#"{"time_zone":"Europe/Rome","week":{"sun":[["01:00","02:30"],["02:45","03:15"],["22:00","24:00"]],"mon":[["00:00","06:00"]],"sat":[["02:10","02:50"]]}}"#,
            ),
            // Half-hour changes of offset.
            calendar(
                r#"{"time_zone":"Australia/Lord_Howe","always_open":true,"holidays":["2026-10-04","2027-04-04"]}"#,
            ),
            calendar(
                r#"{"time_zone":"Asia/Kolkata","week":{"mon":[["10:00","19:00"]],"tue":[["10:00","19:00"]],"wed":[["10:00","19:00"]],"thu":[["10:00","19:00"]],"fri":[["10:00","19:00"]],"sat":[["10:00","14:00"]]}}"#,
            ),
            Calendar::always_open(),
        ]
    }

    fn instants() -> impl Strategy<Value = i64> {
        at("2024-01-01T00:00:00Z")..at("2032-01-01T00:00:00Z")
    }

    fn durations() -> impl Strategy<Value = i64> {
        prop_oneof![0..4 * HOUR_MS, 0..30 * DAY_MS, 0..200 * DAY_MS]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(192))]

        #[test]
        fn business_between_undoes_add_business(
            which in 0..7usize,
            start in instants(),
            duration in durations(),
        ) {
            let calendar = &property_calendars()[which];
            let due = calendar.add_business(start, duration).expect("due");
            prop_assert!(due >= start);
            prop_assert_eq!(calendar.business_between(start, due), Ok(duration));
            // The earliest such instant.
            if duration > 0 {
                prop_assert_eq!(calendar.business_between(start, due - 1), Ok(duration - 1));
            }
        }

        #[test]
        fn skipping_weeks_agrees_with_walking_day_by_day(
            which in 0..7usize,
            start in instants(),
            duration in durations(),
            span in 0..400 * DAY_MS,
        ) {
            let calendar = &property_calendars()[which];
            prop_assert_eq!(
                calendar.add_business_walk(start, duration, Walk::SkipRegularWeeks).map(|(due, _)| due),
                calendar.add_business_walk(start, duration, Walk::DayByDay).map(|(due, _)| due)
            );
            prop_assert_eq!(
                calendar.business_between_walk(start, start + span, Walk::SkipRegularWeeks).map(|(elapsed, _)| elapsed),
                calendar.business_between_walk(start, start + span, Walk::DayByDay).map(|(elapsed, _)| elapsed)
            );
        }

        #[test]
        fn business_time_is_monotone_and_additive(
            which in 0..7usize,
            first in instants(),
            gap in 0..60 * DAY_MS,
            gap_after in 0..60 * DAY_MS,
            duration in durations(),
            more in 0..10 * DAY_MS,
        ) {
            let calendar = &property_calendars()[which];
            let (a, b, c) = (first, first + gap, first + gap + gap_after);
            let due_a = calendar.add_business(a, duration).expect("due");
            prop_assert!(due_a <= calendar.add_business(b, duration).expect("due"));
            prop_assert!(due_a <= calendar.add_business(a, duration + more).expect("due"));
            let ab = calendar.business_between(a, b).expect("elapsed");
            let bc = calendar.business_between(b, c).expect("elapsed");
            prop_assert!(ab <= b - a);
            prop_assert_eq!(calendar.business_between(a, c), Ok(ab + bc));
        }
    }

    // Derivation.

    const RUNNING: bool = false;
    const PAUSING: bool = true;

    /// 4 h to respond, 16 h to resolve, warnings at 80 %.
    fn targets() -> SlaTargets {
        SlaTargets {
            first_response_ms: Some(4 * HOUR_MS),
            resolution_ms: Some(16 * HOUR_MS),
            warning_fraction: Some(0.8),
        }
    }

    /// Monday 2026-03-02 09:00 in Rome, at opening.
    fn created() -> i64 {
        at("2026-03-02T09:00:00+01:00")
    }

    fn derive(history: &[StatusChange<'_>], response: Option<i64>, now: i64) -> SlaReport {
        derive_with(&targets(), &rome_office(), history, response, now)
    }

    fn derive_with(
        targets: &SlaTargets,
        calendar: &Calendar,
        history: &[StatusChange<'_>],
        response: Option<i64>,
        now: i64,
    ) -> SlaReport {
        let timeline = TicketTimeline {
            created_at_ms: created(),
            status_history: history,
            first_public_response_at_ms: response,
        };
        derive_sla(targets, calendar, &timeline, now).expect("derived")
    }

    fn change(at_ms: i64, pauses_sla: bool, class: &str) -> StatusChange<'_> {
        StatusChange {
            at_ms,
            pauses_sla,
            class,
        }
    }

    #[test]
    fn a_new_ticket_runs_both_clocks_and_warns_at_80_percent() {
        let report = derive(
            &[change(created(), RUNNING, "new")],
            None,
            created() + HOUR_MS,
        );
        let first = report.first_response.expect("first response clock");
        assert_eq!(first.state, SlaState::Ok);
        assert_eq!(first.elapsed_ms, HOUR_MS);
        assert_eq!(first.due_at_ms, Some(at("2026-03-02T13:00:00+01:00")));
        // 80 % of 4 h is 3 h 12 min.
        assert_eq!(first.warning_at_ms, Some(at("2026-03-02T12:12:00+01:00")));
        assert_eq!(first.breached_at_ms, None);
        let resolution = report.resolution.expect("resolution clock");
        // 9 h on Monday, 7 more on Tuesday.
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-03T16:00:00+01:00")));
        // 80 % of 16 h is 12 h 48 min.
        assert_eq!(
            resolution.warning_at_ms,
            Some(at("2026-03-03T12:48:00+01:00"))
        );
        assert_eq!(report.state, Some(SlaState::Ok));
        assert!(!report.paused);
        assert_eq!(
            report.next_change_at_ms,
            Some(at("2026-03-02T12:12:00+01:00"))
        );
    }

    #[rstest]
    #[case::before_warning("2026-03-02T12:11:59.999+01:00", SlaState::Ok)]
    #[case::at_warning("2026-03-02T12:12:00+01:00", SlaState::AtRisk)]
    #[case::just_before_due("2026-03-02T12:59:59.999+01:00", SlaState::AtRisk)]
    #[case::at_due("2026-03-02T13:00:00+01:00", SlaState::Breached)]
    #[case::next_day("2026-03-03T10:00:00+01:00", SlaState::Breached)]
    fn an_unanswered_ticket_goes_at_risk_then_breached(
        #[case] now: &str,
        #[case] expected: SlaState,
    ) {
        let report = derive(&[], None, at(now));
        let first = report.first_response.expect("first response clock");
        assert_eq!(first.state, expected);
        assert_eq!(report.state, Some(expected));
        let breached_at = (expected == SlaState::Breached).then(|| at("2026-03-02T13:00:00+01:00"));
        assert_eq!(first.breached_at_ms, breached_at);
    }

    #[test]
    fn a_response_before_due_meets_the_target_and_one_after_breaches_it() {
        let now = at("2026-03-02T17:00:00+01:00");
        let on_time = derive(&[], Some(at("2026-03-02T10:00:00+01:00")), now)
            .first_response
            .expect("clock");
        assert_eq!(on_time.state, SlaState::Met);
        assert_eq!(on_time.elapsed_ms, HOUR_MS);
        assert_eq!(on_time.stopped_at_ms, Some(at("2026-03-02T10:00:00+01:00")));
        assert_eq!(on_time.due_at_ms, Some(at("2026-03-02T13:00:00+01:00")));
        assert_eq!(on_time.warning_at_ms, None);

        let late = derive(&[], Some(at("2026-03-02T14:00:00+01:00")), now)
            .first_response
            .expect("clock");
        assert_eq!(late.state, SlaState::Breached);
        assert_eq!(late.breached_at_ms, Some(at("2026-03-02T13:00:00+01:00")));
        assert_eq!(late.elapsed_ms, 5 * HOUR_MS);
    }

    #[test]
    fn a_waiting_status_counts_no_time_and_moves_the_due_instant_later() {
        let history = [
            change(created(), RUNNING, "new"),
            change(at("2026-03-02T10:00:00+01:00"), PAUSING, "waiting"),
            change(at("2026-03-02T12:00:00+01:00"), RUNNING, "open"),
        ];
        // While waiting the due instant is unknown.
        let waiting = derive(&history[..2], None, at("2026-03-02T11:00:00+01:00"));
        let resolution = waiting.resolution.expect("clock");
        assert!(waiting.paused);
        assert_eq!(resolution.state, SlaState::Paused);
        assert_eq!(resolution.due_at_ms, None);
        assert_eq!(resolution.warning_at_ms, None);
        assert_eq!(resolution.elapsed_ms, HOUR_MS);
        // The first-response clock does not pause.
        let first = waiting.first_response.expect("clock");
        assert_eq!(first.state, SlaState::Ok);
        assert_eq!(first.elapsed_ms, 2 * HOUR_MS);
        assert_eq!(waiting.state, Some(SlaState::Ok));

        // Resumed: the two waiting hours are added to the due instant.
        let resumed = derive(&history, None, at("2026-03-02T13:00:00+01:00"));
        let resolution = resumed.resolution.expect("clock");
        assert!(!resumed.paused);
        assert_eq!(resolution.state, SlaState::Ok);
        assert_eq!(resolution.elapsed_ms, 2 * HOUR_MS);
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-03T18:00:00+01:00")));
    }

    #[test]
    fn a_pause_overnight_only_shifts_by_the_business_time_it_covered() {
        let history = [
            change(at("2026-03-02T17:00:00+01:00"), PAUSING, "waiting"),
            change(at("2026-03-03T10:00:00+01:00"), RUNNING, "open"),
        ];
        let report = derive(&history, None, at("2026-03-03T11:00:00+01:00"));
        let resolution = report.resolution.expect("clock");
        // 17:00-18:00 and 09:00-10:00 were paused: two hours later than Tuesday 16:00.
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-03T18:00:00+01:00")));
        assert_eq!(resolution.elapsed_ms, 9 * HOUR_MS);
    }

    #[test]
    fn resolving_stops_the_clock_and_reopening_resumes_it_from_the_reopen() {
        let resolved_at = at("2026-03-02T11:00:00+01:00");
        let mut history = vec![
            change(created(), RUNNING, "new"),
            change(resolved_at, RUNNING, "resolved"),
        ];
        let resolved = derive(&history, None, at("2026-03-02T17:00:00+01:00"));
        let resolution = resolved.resolution.expect("clock");
        assert_eq!(resolution.state, SlaState::Met);
        assert_eq!(resolution.stopped_at_ms, Some(resolved_at));
        assert_eq!(resolution.elapsed_ms, 2 * HOUR_MS);
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-03T16:00:00+01:00")));
        assert_eq!(resolved.next_change_at_ms, None);
        // Resolving without a public response ends the first-response clock too.
        let first = resolved.first_response.expect("clock");
        assert_eq!(first.state, SlaState::Met);
        assert_eq!(first.stopped_at_ms, Some(resolved_at));
        assert_eq!(resolved.state, Some(SlaState::Met));

        // Reopened on Tuesday at 09:00: the 7 business hours resolved do not count.
        history.push(change(at("2026-03-03T09:00:00+01:00"), RUNNING, "open"));
        let reopened = derive(&history, None, at("2026-03-03T10:00:00+01:00"));
        let resolution = reopened.resolution.expect("clock");
        assert_eq!(resolution.state, SlaState::Ok);
        assert_eq!(resolution.stopped_at_ms, None);
        assert_eq!(resolution.elapsed_ms, 3 * HOUR_MS);
        // 14 h left from Tuesday 09:00: 9 on Tuesday, 5 on Wednesday.
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-04T14:00:00+01:00")));
        // 12 h 48 min: 2 h on Monday, 9 h on Tuesday, 1 h 48 min on Wednesday.
        assert_eq!(
            resolution.warning_at_ms,
            Some(at("2026-03-04T10:48:00+01:00"))
        );
        assert_eq!(
            reopened.first_response.map(|clock| clock.state),
            Some(SlaState::Met)
        );
    }

    #[test]
    fn a_target_reached_before_resolution_stays_breached() {
        let always = Calendar::always_open();
        let targets = SlaTargets {
            first_response_ms: None,
            resolution_ms: Some(2 * HOUR_MS),
            warning_fraction: None,
        };
        let history = [
            change(created() + 3 * HOUR_MS, RUNNING, "resolved"),
            change(created() + 4 * HOUR_MS, RUNNING, "open"),
            change(created() + 5 * HOUR_MS, RUNNING, "closed"),
        ];
        for now in [
            created() + 3 * HOUR_MS,
            created() + 4 * HOUR_MS + 1,
            created() + 9 * HOUR_MS,
        ] {
            let report = derive_with(&targets, &always, &history, None, now);
            let resolution = report.resolution.expect("clock");
            assert_eq!(resolution.state, SlaState::Breached, "{now}");
            assert_eq!(resolution.breached_at_ms, Some(created() + 2 * HOUR_MS));
            assert_eq!(resolution.due_at_ms, Some(created() + 2 * HOUR_MS));
            assert_eq!(report.first_response, None);
            assert_eq!(report.next_change_at_ms, None);
        }
        // Resolved exactly at the due instant is too late: due is the first breached instant.
        let at_due = [change(created() + 2 * HOUR_MS, RUNNING, "resolved")];
        let report = derive_with(&targets, &always, &at_due, None, created() + 3 * HOUR_MS);
        assert_eq!(report.state, Some(SlaState::Breached));
        let just_before = [change(created() + 2 * HOUR_MS - 1, RUNNING, "resolved")];
        let report = derive_with(
            &targets,
            &always,
            &just_before,
            None,
            created() + 3 * HOUR_MS,
        );
        assert_eq!(report.state, Some(SlaState::Met));
    }

    #[test]
    fn a_pause_after_the_breach_keeps_the_breach_and_its_instant() {
        let history = [change(at("2026-03-03T17:00:00+01:00"), PAUSING, "waiting")];
        let report = derive(&history, None, at("2026-03-04T10:00:00+01:00"));
        let resolution = report.resolution.expect("clock");
        assert!(report.paused);
        assert_eq!(resolution.state, SlaState::Breached);
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-03T16:00:00+01:00")));
        assert_eq!(
            resolution.breached_at_ms,
            Some(at("2026-03-03T16:00:00+01:00"))
        );
    }

    #[test]
    fn a_ticket_paused_from_creation_has_no_due_instant() {
        let history = [change(created(), PAUSING, "paused")];
        let report = derive(&history, Some(created() + 60_000), created() + 3 * DAY_MS);
        let resolution = report.resolution.expect("clock");
        assert_eq!(resolution.state, SlaState::Paused);
        assert_eq!(resolution.elapsed_ms, 0);
        assert_eq!(resolution.due_at_ms, None);
        assert_eq!(report.state, Some(SlaState::Paused));
        assert_eq!(report.next_change_at_ms, None);
    }

    #[test]
    fn the_report_depends_only_on_the_inputs_not_on_their_order() {
        let history = [
            change(at("2026-03-02T10:00:00+01:00"), PAUSING, "waiting"),
            change(at("2026-03-02T12:00:00+01:00"), RUNNING, "open"),
            change(at("2026-03-02T15:00:00+01:00"), RUNNING, "resolved"),
            change(at("2026-03-03T09:30:00+01:00"), RUNNING, "open"),
        ];
        let shuffled = [history[2], history[0], history[3], history[1]];
        let now = at("2026-03-03T11:00:00+01:00");
        let report = derive(&history, Some(at("2026-03-02T12:30:00+01:00")), now);
        assert_eq!(
            report,
            derive(&shuffled, Some(at("2026-03-02T12:30:00+01:00")), now)
        );
        assert_eq!(
            report,
            derive(&history, Some(at("2026-03-02T12:30:00+01:00")), now)
        );
        // Serializable for storage.
        let json = serde_json::to_string(&report).expect("json");
        assert_eq!(serde_json::from_str::<SlaReport>(&json).ok(), Some(report));
    }

    #[test]
    fn changes_after_now_and_before_creation_are_bounded() {
        let now = at("2026-03-02T11:00:00+01:00");
        let future = [change(at("2026-03-02T12:00:00+01:00"), RUNNING, "resolved")];
        assert_eq!(derive(&future, None, now), derive(&[], None, now));
        let early = [change(created() - HOUR_MS, PAUSING, "waiting")];
        let report = derive(&early, None, now);
        assert_eq!(report.resolution.map(|clock| clock.elapsed_ms), Some(0));
        assert!(report.paused);
    }

    #[test]
    fn a_policy_without_targets_has_no_state() {
        let none = SlaTargets {
            first_response_ms: None,
            resolution_ms: None,
            warning_fraction: None,
        };
        let report = derive_with(&none, &rome_office(), &[], None, created() + HOUR_MS);
        assert_eq!(report.state, None);
        assert_eq!(report.next_change_at_ms, None);
    }

    #[test]
    fn an_unknown_status_class_is_refused() {
        let timeline = TicketTimeline {
            created_at_ms: created(),
            status_history: &[change(created(), RUNNING, "archived")],
            first_public_response_at_ms: None,
        };
        assert_eq!(
            derive_sla(&targets(), &rome_office(), &timeline, created()),
            Err(SlaError::UnknownStatusClass {
                class: "archived".into()
            })
        );
    }

    #[rstest]
    #[case(Some(0.0))]
    #[case(Some(-0.5))]
    #[case(Some(1.5))]
    #[case(Some(f64::NAN))]
    fn warning_fractions_outside_zero_to_one_are_refused(#[case] fraction: Option<f64>) {
        let timeline = TicketTimeline {
            created_at_ms: created(),
            status_history: &[],
            first_public_response_at_ms: None,
        };
        let targets = SlaTargets {
            warning_fraction: fraction,
            ..targets()
        };
        assert!(matches!(
            derive_sla(&targets, &rome_office(), &timeline, created()),
            Err(SlaError::InvalidWarningFraction { .. })
        ));
    }

    #[rstest]
    #[case(0)]
    #[case(-HOUR_MS)]
    #[case(MAX_BUSINESS_DURATION_MS + 1)]
    fn targets_must_be_positive_and_bounded(#[case] target_ms: i64) {
        let timeline = TicketTimeline {
            created_at_ms: created(),
            status_history: &[],
            first_public_response_at_ms: None,
        };
        let targets = SlaTargets {
            resolution_ms: Some(target_ms),
            ..targets()
        };
        assert_eq!(
            derive_sla(&targets, &rome_office(), &timeline, created()),
            Err(SlaError::InvalidTarget {
                target: "resolution",
                target_ms,
                max_ms: MAX_BUSINESS_DURATION_MS
            })
        );
    }

    #[test]
    fn a_resolution_target_across_the_march_change_is_due_in_business_hours() {
        // Created Friday 16:00 before the change, 4 h to resolve.
        let targets = SlaTargets {
            first_response_ms: Some(HOUR_MS),
            resolution_ms: Some(4 * HOUR_MS),
            warning_fraction: Some(0.8),
        };
        let timeline = TicketTimeline {
            created_at_ms: at("2026-03-27T16:00:00+01:00"),
            status_history: &[],
            first_public_response_at_ms: Some(at("2026-03-27T16:30:00+01:00")),
        };
        let report = derive_sla(
            &targets,
            &rome_office(),
            &timeline,
            at("2026-03-30T09:30:00+02:00"),
        )
        .expect("derived");
        let resolution = report.resolution.expect("clock");
        assert_eq!(resolution.due_at_ms, Some(at("2026-03-30T11:00:00+02:00")));
        // 3 h 12 min: 2 h on Friday, 1 h 12 min on Monday.
        assert_eq!(
            resolution.warning_at_ms,
            Some(at("2026-03-30T10:12:00+02:00"))
        );
        assert_eq!(resolution.elapsed_ms, 2 * HOUR_MS + 30 * MINUTE_MS);
        assert_eq!(
            report.first_response.map(|clock| clock.state),
            Some(SlaState::Met)
        );
        assert_eq!(
            report.next_change_at_ms,
            Some(at("2026-03-30T10:12:00+02:00"))
        );
    }
}
