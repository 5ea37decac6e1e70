//! Service levels: business-hours calendars (a time zone, the opening hours of each
//! weekday, holidays) and SLA policies (first-response and resolution targets per
//! priority, on a calendar), which organizations are given on their own pages.

use std::collections::BTreeMap;

use portico_tenants::sla::{CalendarDefinition, WeekDefinition};
use portico_tenants::ticket_sla::{Policy, StoredCalendar, Target};

use super::*;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const PRIORITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// A weekday's opening hours as typed: `09:00-13:00, 14:00-18:00`; empty is closed.
fn parse_day(locale: Locale, day: &str, raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.split_once('-')
                .map(|(from, to)| (from.trim().to_owned(), to.trim().to_owned()))
                .ok_or_else(|| ApiError::Invalid {
                    field: day.to_owned(),
                    reason: locale.text_with("admin-calendar-hours-invalid", &[("body", part)]),
                })
        })
        .collect()
}

fn show_day(intervals: &[(String, String)]) -> String {
    intervals
        .iter()
        .map(|(from, to)| format!("{from}-{to}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn days_of(week: &WeekDefinition) -> [&Vec<(String, String)>; 7] {
    [
        &week.mon, &week.tue, &week.wed, &week.thu, &week.fri, &week.sat, &week.sun,
    ]
}

/// Hours as typed (`4`, `0.5`, `1,5`) in minutes; empty is no target.
fn parse_hours(locale: Locale, field: &str, raw: &str) -> Result<Option<i64>, ApiError> {
    let raw = raw.trim().replace(',', ".");
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<f64>()
        .ok()
        .filter(|h| h.is_finite() && *h > 0.0 && *h <= 87_840.0)
        .map(|h| Some((h * 60.0).round() as i64))
        .ok_or_else(|| ApiError::Invalid {
            field: field.to_owned(),
            reason: locale.text("admin-policy-hours-invalid"),
        })
}

fn hours_text(minutes: Option<i64>) -> String {
    match minutes {
        None => "—".to_owned(),
        Some(m) if m % 60 == 0 => format!("{} h", m / 60),
        Some(m) => format!("{:.1} h", m as f64 / 60.0),
    }
}

pub(super) async fn sla_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<PageQuery>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "ticket_config", "read").await?;
        let may_update = may(&state, &user, "ticket_config", "update").await;
        let calendars = ticket_sla::calendars(&user.db).await?;
        let policies = ticket_sla::policies(&user.db).await?;
        let default_policy =
            accounts::tenant_setting(&user.db, ticket_sla::DEFAULT_POLICY_SETTING).await?;
        let default_policy = default_policy.as_ref().and_then(|v| v.as_str());
        let weekday = |day: &str| locale.text(&format!("admin-day-{day}"));
        let calendar_rows = calendars
            .iter()
            .map(|c| {
                let hours = if c.definition.always_open {
                    locale.text("admin-calendar-always")
                } else {
                    WEEKDAYS
                        .iter()
                        .zip(days_of(&c.definition.week))
                        .filter(|(_, intervals)| !intervals.is_empty())
                        .map(|(day, intervals)| format!("{} {}", weekday(day), show_day(intervals)))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                Row {
                    cells: vec![
                        cell(&c.name),
                        code(&c.key),
                        cell(&c.definition.time_zone),
                        cell(hours),
                        cell(c.definition.holidays.len().to_string()),
                    ],
                    actions: Vec::new(),
                }
            })
            .collect();
        let mut calendar_section = Section::new("sla-calendars", locale.text("admin-calendars"))
            .intro(locale.text("admin-calendars-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-key"),
                    locale.text("settings-time-zone"),
                    locale.text("admin-calendar-hours"),
                    locale.text("admin-calendar-holidays"),
                ],
                rows: calendar_rows,
                empty: locale.text("admin-calendars-none"),
                ..Table::default()
            });
        if may_update {
            let mut fields = vec![
                Input::new("key", locale.text("admin-key"), "text")
                    .required()
                    .help(locale.text("admin-key-help")),
                Input::new("name", locale.text("admin-name"), "text").required(),
            ];
            let mut zone = Input::new("time_zone", locale.text("settings-time-zone"), "select");
            zone.options_html = Some(crate::i18n::zone_options(
                user.zone.iana_name().unwrap_or("UTC"),
            ));
            fields.push(zone);
            fields.push(
                Input::new(
                    "always_open",
                    locale.text("admin-calendar-always"),
                    "checkbox",
                )
                .help(locale.text("admin-calendar-always-help")),
            );
            for day in WEEKDAYS {
                let value = if matches!(day, "sat" | "sun") {
                    ""
                } else {
                    "09:00-17:00"
                };
                let mut input = Input::new(day, weekday(day), "text").value(value);
                if day == "mon" {
                    input = input.help(locale.text("admin-calendar-day-help"));
                }
                fields.push(input);
            }
            fields.push(
                Input::new(
                    "holidays",
                    locale.text("admin-calendar-holidays"),
                    "textarea",
                )
                .help(locale.text("admin-calendar-holidays-help")),
            );
            calendar_section = calendar_section.form(
                FormSpec::post(
                    "calendar-new",
                    "/admin/sla/calendars",
                    locale.text("admin-create"),
                    fields,
                )
                .titled(locale.text("admin-calendar-new")),
            );
        }
        let policy_rows = policies
            .iter()
            .map(|p| {
                let targets = PRIORITIES
                    .iter()
                    .filter_map(|priority| {
                        let target = p.targets.get(*priority)?;
                        Some(format!(
                            "{}: {} / {}",
                            locale.text(&format!("priority-{priority}")),
                            hours_text(target.first_response_minutes),
                            hours_text(target.resolution_minutes)
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let calendar = p
                    .calendar
                    .as_deref()
                    .and_then(|key| calendars.iter().find(|c| c.key == key))
                    .map_or_else(|| locale.text("admin-calendar-always"), |c| c.name.clone());
                Row {
                    cells: vec![
                        cell(&p.name),
                        code(&p.key),
                        cell(calendar),
                        cell(targets),
                        cell(format!("{} %", p.warning_percent)),
                        cell(yes_no(locale, default_policy == Some(p.key.as_str()))),
                    ],
                    actions: Vec::new(),
                }
            })
            .collect();
        let mut policy_section = Section::new("sla-policies", locale.text("admin-policies"))
            .intro(locale.text("admin-policies-intro"))
            .table(Table {
                columns: vec![
                    locale.text("admin-name"),
                    locale.text("admin-key"),
                    locale.text("admin-calendar"),
                    locale.text("admin-policy-targets"),
                    locale.text("admin-policy-warning"),
                    locale.text("admin-policy-is-default"),
                ],
                rows: policy_rows,
                empty: locale.text("admin-policies-none"),
                ..Table::default()
            });
        if may_update {
            let mut calendar_choices = vec![choice("", locale.text("admin-calendar-always"), true)];
            calendar_choices.extend(calendars.iter().map(|c| choice(&c.key, &c.name, false)));
            let mut fields = vec![
                Input::new("key", locale.text("admin-key"), "text")
                    .required()
                    .help(locale.text("admin-key-help")),
                Input::new("name", locale.text("admin-name"), "text").required(),
                Input::new("calendar", locale.text("admin-calendar"), "select")
                    .options(calendar_choices),
            ];
            for priority in PRIORITIES {
                let label = locale.text(&format!("priority-{priority}"));
                fields.push(Input::new(
                    &format!("{priority}_first"),
                    locale.text_with("admin-policy-first", &[("level", &label)]),
                    "text",
                ));
                fields.push(
                    Input::new(
                        &format!("{priority}_resolution"),
                        locale.text_with("admin-policy-resolution", &[("level", &label)]),
                        "text",
                    )
                    .help(locale.text("admin-policy-hours-help")),
                );
            }
            fields.push(
                Input::new(
                    "warning_percent",
                    locale.text("admin-policy-warning"),
                    "number",
                )
                .value("80")
                .range(1, 99)
                .help(locale.text("admin-policy-warning-help")),
            );
            fields.push(Input::new(
                "default",
                locale.text("admin-policy-make-default"),
                "checkbox",
            ));
            policy_section = policy_section.form(
                FormSpec::post(
                    "policy-new",
                    "/admin/sla/policies",
                    locale.text("admin-create"),
                    fields,
                )
                .titled(locale.text("admin-policy-new")),
            );
        }
        Ok(admin_view(
            &state,
            &user,
            "sla",
            locale.text("admin-sla"),
            notice(locale, &query.done),
            vec![calendar_section, policy_section],
        ))
    })
    .await
}

pub(super) async fn calendar_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "ticket_config", "update").await?;
        let always_open = input.checked("always_open");
        let mut week = WeekDefinition::default();
        if !always_open {
            let day = |name: &str| parse_day(locale, name, input.text(name));
            week.mon = day("mon")?;
            week.tue = day("tue")?;
            week.wed = day("wed")?;
            week.thu = day("thu")?;
            week.fri = day("fri")?;
            week.sat = day("sat")?;
            week.sun = day("sun")?;
        }
        let holidays = input
            .text("holidays")
            .split([',', '\n', '\r', ' ', ';'])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect();
        ticket_sla::create_calendar(
            &user.db,
            StoredCalendar {
                key: input.text("key").trim().to_owned(),
                name: input.text("name").trim().to_owned(),
                definition: CalendarDefinition {
                    time_zone: input.text("time_zone").trim().to_owned(),
                    always_open,
                    week,
                    holidays,
                },
            },
            &user.actor(),
        )
        .await?;
        Ok(done("/admin/sla", "created"))
    })
    .await
}

pub(super) async fn policy_create(
    State(state): State<AppState>,
    WebForm { user, input }: WebForm<Fields>,
) -> Response {
    let locale = user.locale;
    page(&state, locale, async {
        allowed(&state, &user, "ticket_config", "update").await?;
        let mut targets = BTreeMap::new();
        for priority in PRIORITIES {
            let first_field = format!("{priority}_first");
            let resolution_field = format!("{priority}_resolution");
            let target = Target {
                first_response_minutes: parse_hours(
                    locale,
                    &first_field,
                    input.text(&first_field),
                )?,
                resolution_minutes: parse_hours(
                    locale,
                    &resolution_field,
                    input.text(&resolution_field),
                )?,
            };
            if target != Target::default() {
                targets.insert(priority.to_owned(), target);
            }
        }
        let warning_percent = match input.text("warning_percent").trim() {
            "" => 80,
            raw => raw.parse().map_err(|_| ApiError::Invalid {
                field: "warning_percent".to_owned(),
                reason: locale.text("admin-policy-warning-help"),
            })?,
        };
        let key = input.text("key").trim().to_owned();
        ticket_sla::create_policy(
            &user.db,
            Policy {
                key: key.clone(),
                name: input.text("name").trim().to_owned(),
                calendar: Some(input.text("calendar").trim().to_owned()).filter(|c| !c.is_empty()),
                targets,
                warning_percent,
            },
            &user.actor(),
        )
        .await?;
        if input.checked("default") {
            allowed(&state, &user, "setting", "update").await?;
            accounts::set_tenant_setting(
                &user.db,
                ticket_sla::DEFAULT_POLICY_SETTING,
                &serde_json::Value::String(key),
                &user.actor(),
            )
            .await?;
        }
        Ok(done("/admin/sla", "created"))
    })
    .await
}
