//! Inline SVG charts for the HTML digest, drawn by hand so the page needs no
//! script, no font or library download, and opens offline.

use std::fmt::Write;

/// Colors of series, in order (distinguishable, print-safe).
pub const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d",
];

/// Color of rising terms.
pub const RISING: &str = "#dc2626";
/// Color of falling terms.
pub const FALLING: &str = "#059669";
/// Color of baselines and axes.
pub const MUTED: &str = "#9ca3af";
/// Color of text.
pub const INK: &str = "#1f2937";
/// Fill of the window's band.
const WINDOW_BAND: &str = "#fef3c7";

/// Escapes text for XML/HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// An SVG document being drawn.
#[derive(Debug)]
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// An empty drawing of this size (in CSS pixels; it scales to its box).
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    /// A rectangle with a hover title.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}">"#,
            width.max(0.0),
            height.max(0.0)
        );
        if !title.is_empty() {
            let _ = write!(self.body, "<title>{}</title>", escape(title));
        }
        self.body.push_str("</rect>");
    }

    /// A straight line.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, width: f64) {
        let _ = write!(
            self.body,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="{width}"/>"#,
            from.0, from.1, to.0, to.1
        );
    }

    /// A polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64) {
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"/>"#,
            path.join(" ")
        );
    }

    /// A dot with a hover title.
    pub fn circle(&mut self, center: (f64, f64), radius: f64, fill: &str, title: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}" fill="{fill}">"#,
            center.0, center.1
        );
        if !title.is_empty() {
            let _ = write!(self.body, "<title>{}</title>", escape(title));
        }
        self.body.push_str("</circle>");
    }

    /// Text; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, at: (f64, f64), text: &str, size: f64, anchor: &str, fill: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{:.1}" y="{:.1}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{}</text>"#,
            at.0,
            at.1,
            escape(text)
        );
    }

    /// The finished `<svg>` element; `kind` goes into `data-chart` and
    /// `label` is its accessible name.
    pub fn finish(self, kind: &str, label: &str) -> String {
        format!(
            r#"<svg class="chart" data-chart="{kind}" role="img" aria-label="{}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">{}</svg>"#,
            escape(label),
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// A round axis maximum at or above `value`, and its tick step.
pub fn nice_scale(value: f64) -> (f64, f64) {
    if value <= 0.0 || !value.is_finite() {
        return (1.0, 0.25);
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0] {
        let step = step * magnitude;
        let top = (value / step).ceil() * step;
        if top / step <= 5.0 {
            return (top, step);
        }
    }
    (value, value / 4.0)
}

/// A round axis maximum at or above `value` and its tick step for counts:
/// the step is a whole number (1, 2, 5, 10, 20, 25, 50, ...), so every tick
/// is an integer; a maximum under 1 still gets the axis 0..1.
pub fn count_scale(value: f64) -> (f64, f64) {
    let value = if value.is_finite() {
        value.max(1.0)
    } else {
        1.0
    };
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0] {
        let step = step * magnitude;
        // Steps under 1, and 2.5, are not whole numbers.
        if step < 1.0 - 1e-9 || (step - step.round()).abs() > 1e-9 {
            continue;
        }
        let step = step.round();
        let top = (value / step).ceil() * step;
        if top / step <= 5.0 {
            return (top, step);
        }
    }
    (value.ceil(), (value / 4.0).ceil())
}

fn tick_label(value: f64, percent: bool) -> String {
    if percent {
        let points = value * 100.0;
        if points >= 10.0 || points == points.round() {
            format!("{points:.0}%")
        } else {
            format!("{points:.1}%")
        }
    } else if value >= 1000.0 {
        let thousands = value / 1000.0;
        if thousands == thousands.round() {
            format!("{thousands:.0}k")
        } else {
            format!("{thousands:.1}k")
        }
    } else {
        format!("{value:.0}")
    }
}

/// One panel of a small-multiples chart.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The panel's title.
    pub title: String,
    /// A short figure shown after the title (e.g. the window's share).
    pub subtitle: String,
    /// Daily values (drawn thin).
    pub daily: Vec<f64>,
    /// Smoothed values (drawn bold), same length.
    pub smooth: Vec<f64>,
}

/// Panels per row of a small-multiples chart.
const PANEL_COLUMNS: usize = 2;
/// Width and height of one panel.
const PANEL_SIZE: (f64, f64) = (420.0, 132.0);
/// Space between two panels of a row.
const PANEL_GAP: f64 = 20.0;
/// A panel's margins around its plot: left, right, top, bottom.
const PANEL_MARGINS: (f64, f64, f64, f64) = (44.0, 10.0, 26.0, 22.0);

/// One small chart per panel, two per row, each with its own y scale (a
/// rare topic's trend stays visible next to a common one), shares on the
/// y axis, the window shaded.
pub fn small_multiples(
    kind: &str,
    label: &str,
    dates: &[String],
    panels: &[Panel],
    highlight: Option<(usize, usize)>,
) -> String {
    let (panel_width, panel_height) = PANEL_SIZE;
    let rows = panels.len().div_ceil(PANEL_COLUMNS).max(1);
    let width = panel_width * PANEL_COLUMNS as f64 + PANEL_GAP;
    let height = panel_height * rows as f64;
    let mut svg = Svg::new(width, height);
    for (number, panel) in panels.iter().enumerate() {
        let origin = (
            (number % PANEL_COLUMNS) as f64 * (panel_width + PANEL_GAP),
            (number / PANEL_COLUMNS) as f64 * panel_height,
        );
        let plot = PanelPlot::new(origin, dates.len().max(1), panel);
        let color = PALETTE[number % PALETTE.len()];
        draw_panel_frame(&mut svg, &plot, panel, color, dates, highlight);
        draw_panel_lines(&mut svg, &plot, panel, color, dates);
    }
    svg.finish(kind, label)
}

/// Where one panel of a small-multiples chart sits and how it scales.
#[derive(Debug)]
struct PanelPlot {
    /// The panel's top-left corner.
    origin: (f64, f64),
    /// The plot's width and height inside the margins.
    size: (f64, f64),
    /// Days on the x axis.
    count: usize,
    /// The y axis's top value.
    top_value: f64,
}

impl PanelPlot {
    fn new(origin: (f64, f64), count: usize, panel: &Panel) -> PanelPlot {
        let (panel_width, panel_height) = PANEL_SIZE;
        let (left, right, top, bottom) = PANEL_MARGINS;
        let max = panel
            .daily
            .iter()
            .chain(&panel.smooth)
            .copied()
            .fold(0.0, f64::max);
        PanelPlot {
            origin,
            size: (panel_width - left - right, panel_height - top - bottom),
            count,
            top_value: nice_scale(max).0,
        }
    }

    /// The plot's left edge.
    fn left(&self) -> f64 {
        self.origin.0 + PANEL_MARGINS.0
    }

    /// The x of day `index` (the middle of its slot).
    fn x(&self, index: usize) -> f64 {
        self.left() + self.size.0 * (index as f64 + 0.5) / self.count as f64
    }

    /// The x of the edge before day `index`.
    fn edge(&self, index: usize) -> f64 {
        self.left() + self.size.0 * index as f64 / self.count as f64
    }

    /// The y of `value`.
    fn y(&self, value: f64) -> f64 {
        self.origin.1 + PANEL_MARGINS.2 + self.size.1 * (1.0 - value / self.top_value)
    }
}

/// A panel's title and figure, the window's band, the y axis's bottom and
/// top lines, and the first and last dates.
fn draw_panel_frame(
    svg: &mut Svg,
    plot: &PanelPlot,
    panel: &Panel,
    color: &str,
    dates: &[String],
    highlight: Option<(usize, usize)>,
) {
    let (origin_x, origin_y) = plot.origin;
    let (panel_width, panel_height) = PANEL_SIZE;
    let (left, right, top, _) = PANEL_MARGINS;
    svg.text(
        (origin_x + left, origin_y + 16.0),
        &panel.title,
        13.0,
        "start",
        INK,
    );
    svg.text(
        (origin_x + panel_width - right, origin_y + 16.0),
        &panel.subtitle,
        12.0,
        "end",
        color,
    );
    if let Some((first, last)) = highlight {
        let (x0, x1) = (plot.edge(first), plot.edge(last + 1));
        svg.rect(
            x0,
            origin_y + top,
            x1 - x0,
            plot.size.1,
            WINDOW_BAND,
            "window",
        );
    }
    for value in [0.0, plot.top_value] {
        svg.line(
            (plot.left(), plot.y(value)),
            (plot.left() + plot.size.0, plot.y(value)),
            if value == 0.0 { MUTED } else { "#e5e7eb" },
            1.0,
        );
        svg.text(
            (plot.left() - 5.0, plot.y(value) + 4.0),
            &tick_label(value, true),
            10.0,
            "end",
            MUTED,
        );
    }
    for index in [0, plot.count - 1] {
        if let Some(date) = dates.get(index) {
            svg.text(
                (plot.x(index), origin_y + panel_height - 6.0),
                date.get(5..).unwrap_or(date),
                10.0,
                if index == 0 { "start" } else { "end" },
                MUTED,
            );
        }
    }
}

/// A panel's daily values (thin, grey) and smoothed values (bold, in
/// `color`, with a dot a week that names its figure).
fn draw_panel_lines(svg: &mut Svg, plot: &PanelPlot, panel: &Panel, color: &str, dates: &[String]) {
    let points = |values: &[f64]| -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(index, &value)| (plot.x(index), plot.y(value)))
            .collect()
    };
    svg.polyline(&points(&panel.daily), "#d1d5db", 1.0);
    let smooth = points(&panel.smooth);
    svg.polyline(&smooth, color, 2.2);
    for (index, point) in smooth.iter().enumerate() {
        if index % 7 == (plot.count - 1) % 7 {
            svg.circle(
                *point,
                2.5,
                color,
                &format!(
                    "{} {}: {:.1}% (7-day average)",
                    panel.title,
                    dates.get(index).map_or("", |date| date.as_str()),
                    panel.smooth[index] * 100.0
                ),
            );
        }
    }
}

/// A bar chart of `values` over `dates` with the window highlighted.
pub fn bar_chart(
    kind: &str,
    label: &str,
    dates: &[String],
    values: &[f64],
    highlight: Option<(usize, usize)>,
) -> String {
    let (width, height) = (860.0, 200.0);
    let (left, right, top, bottom) = (56.0, 16.0, 12.0, 34.0);
    let plot_width = width - left - right;
    let plot_height = height - top - bottom;
    let mut svg = Svg::new(width, height);
    let count = values.len().max(1);
    let (top_value, step) = count_scale(values.iter().copied().fold(0.0, f64::max));
    let y = |value: f64| top + plot_height * (1.0 - value / top_value);
    let mut tick = 0.0;
    while tick <= top_value + step * 0.01 {
        svg.line(
            (left, y(tick)),
            (left + plot_width, y(tick)),
            "#e5e7eb",
            1.0,
        );
        svg.text(
            (left - 6.0, y(tick) + 4.0),
            &tick_label(tick, false),
            11.0,
            "end",
            MUTED,
        );
        tick += step;
    }
    let slot = plot_width / count as f64;
    let label_every = count.div_ceil(8).max(1);
    for (index, &value) in values.iter().enumerate() {
        let in_window = highlight.is_some_and(|(first, last)| index >= first && index <= last);
        let color = if in_window { "#f59e0b" } else { "#93c5fd" };
        let date = dates.get(index).map_or("", |date| date.as_str());
        svg.rect(
            left + slot * index as f64 + slot * 0.1,
            y(value),
            slot * 0.8,
            top + plot_height - y(value),
            color,
            &format!("{date}: {value:.0} calls"),
        );
        if index % label_every == 0 {
            svg.text(
                (left + slot * (index as f64 + 0.5), height - bottom + 16.0),
                date.get(5..).unwrap_or(date),
                11.0,
                "middle",
                MUTED,
            );
        }
    }
    svg.line(
        (left, top + plot_height),
        (left + plot_width, top + plot_height),
        MUTED,
        1.0,
    );
    svg.finish(kind, label)
}

/// One row of a dumbbell chart: a share moving from `before` to `after`.
#[derive(Debug, Clone)]
pub struct Move {
    /// The term.
    pub label: String,
    /// Baseline share.
    pub before: f64,
    /// Window share.
    pub after: f64,
}

/// Shares moving from baseline (grey dot) to window (colored dot): rising
/// terms in red, falling in green.
pub fn dumbbell(kind: &str, label: &str, rows: &[Move]) -> String {
    let row_height = 26.0;
    let (left, right, top, bottom) = (150.0, 80.0, 28.0, 30.0);
    let width = 860.0;
    let height = top + bottom + row_height * rows.len().max(1) as f64;
    let plot_width = width - left - right;
    let mut svg = Svg::new(width, height);
    let max = rows
        .iter()
        .map(|row| row.before.max(row.after))
        .fold(0.0, f64::max);
    let (top_value, step) = nice_scale(max);
    let x = |value: f64| left + plot_width * value / top_value;
    let mut tick = 0.0;
    while tick <= top_value + step * 0.01 {
        svg.line(
            (x(tick), top - 6.0),
            (x(tick), height - bottom),
            "#e5e7eb",
            1.0,
        );
        svg.text(
            (x(tick), height - bottom + 16.0),
            &tick_label(tick, true),
            11.0,
            "middle",
            MUTED,
        );
        tick += step;
    }
    svg.circle((left, 12.0), 5.0, MUTED, "");
    svg.text((left + 10.0, 16.0), "baseline", 12.0, "start", INK);
    svg.circle((left + 90.0, 12.0), 5.0, RISING, "");
    svg.text((left + 100.0, 16.0), "window (rising)", 12.0, "start", INK);
    svg.circle((left + 230.0, 12.0), 5.0, FALLING, "");
    svg.text((left + 240.0, 16.0), "window (falling)", 12.0, "start", INK);
    for (index, row) in rows.iter().enumerate() {
        let y = top + row_height * (index as f64 + 0.5);
        let color = if row.after >= row.before {
            RISING
        } else {
            FALLING
        };
        svg.text((left - 10.0, y + 4.0), &row.label, 13.0, "end", INK);
        svg.line((x(row.before), y), (x(row.after), y), color, 3.0);
        svg.circle(
            (x(row.before), y),
            5.0,
            MUTED,
            &format!("{} baseline {:.2}%", row.label, row.before * 100.0),
        );
        svg.circle(
            (x(row.after), y),
            6.0,
            color,
            &format!("{} window {:.2}%", row.label, row.after * 100.0),
        );
        let value_x = x(row.before.max(row.after)) + 10.0;
        svg.text(
            (value_x, y + 4.0),
            &format!("{:.1}%", row.after * 100.0),
            11.0,
            "start",
            color,
        );
    }
    svg.finish(kind, label)
}

/// A small line of daily values (no axes) with the window shaded.
pub fn sparkline(values: &[f64], highlight: Option<(usize, usize)>, color: &str) -> String {
    let (width, height) = (160.0, 34.0);
    let mut svg = Svg::new(width, height);
    let count = values.len().max(1);
    let max = values.iter().copied().fold(0.0, f64::max).max(1e-12);
    let x = |index: usize| 2.0 + (width - 4.0) * index as f64 / (count.max(2) - 1) as f64;
    if let Some((first, last)) = highlight {
        svg.rect(x(first), 0.0, x(last) - x(first), height, WINDOW_BAND, "");
    }
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(index, &value)| (x(index), height - 3.0 - (height - 6.0) * value / max))
        .collect();
    svg.polyline(&points, color, 1.6);
    svg.finish("sparkline", "daily share of calls")
}

/// One team's QA figures for the team chart.
#[derive(Debug, Clone)]
pub struct TeamBar {
    /// The team.
    pub team: String,
    /// Pass rate (0..1).
    pub pass_rate: f64,
    /// Average score.
    pub average_score: f64,
    /// Scored calls.
    pub calls: u64,
    /// Whether the team has an alert.
    pub alert: bool,
}

/// Horizontal bars of pass rate per team, teams with an alert in red.
pub fn team_bars(kind: &str, label: &str, teams: &[TeamBar]) -> String {
    let row_height = 24.0;
    let (left, right, top, bottom) = (90.0, 210.0, 10.0, 28.0);
    let width = 860.0;
    let height = top + bottom + row_height * teams.len().max(1) as f64;
    let plot_width = width - left - right;
    let mut svg = Svg::new(width, height);
    let x = |value: f64| left + plot_width * value;
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        svg.line((x(tick), top), (x(tick), height - bottom), "#e5e7eb", 1.0);
        svg.text(
            (x(tick), height - bottom + 16.0),
            &tick_label(tick, true),
            11.0,
            "middle",
            MUTED,
        );
    }
    for (index, team) in teams.iter().enumerate() {
        let y = top + row_height * index as f64;
        let color = if team.alert { RISING } else { "#3b82f6" };
        svg.text(
            (left - 8.0, y + row_height * 0.65),
            &team.team,
            12.0,
            "end",
            INK,
        );
        svg.rect(
            left,
            y + 4.0,
            plot_width * team.pass_rate,
            row_height - 8.0,
            color,
            &format!(
                "{}: pass rate {:.1}%, average {:.1}, {} calls",
                team.team,
                team.pass_rate * 100.0,
                team.average_score,
                team.calls
            ),
        );
        svg.text(
            (x(1.0) + 8.0, y + row_height * 0.65),
            &format!(
                "{:.1}% · avg {:.1} · {} calls{}",
                team.pass_rate * 100.0,
                team.average_score,
                team.calls,
                if team.alert { " · alert" } else { "" }
            ),
            11.0,
            "start",
            if team.alert { RISING } else { INK },
        );
    }
    svg.finish(kind, label)
}

/// Two shares with their 95% intervals (before/after).
pub fn intervals(kind: &str, label: &str, rows: &[(String, f64, f64, f64)]) -> String {
    let row_height = 34.0;
    let (left, right, top, bottom) = (200.0, 60.0, 10.0, 28.0);
    let width = 860.0;
    let height = top + bottom + row_height * rows.len().max(1) as f64;
    let plot_width = width - left - right;
    let mut svg = Svg::new(width, height);
    let max = rows.iter().map(|row| row.3).fold(0.0, f64::max);
    let (top_value, step) = nice_scale(max);
    let x = |value: f64| left + plot_width * value / top_value;
    let mut tick = 0.0;
    while tick <= top_value + step * 0.01 {
        svg.line((x(tick), top), (x(tick), height - bottom), "#e5e7eb", 1.0);
        svg.text(
            (x(tick), height - bottom + 16.0),
            &tick_label(tick, true),
            11.0,
            "middle",
            MUTED,
        );
        tick += step;
    }
    for (index, (name, share, low, high)) in rows.iter().enumerate() {
        let y = top + row_height * (index as f64 + 0.5);
        let color = PALETTE[index % PALETTE.len()];
        svg.text((left - 10.0, y + 4.0), name, 12.0, "end", INK);
        svg.line((x(*low), y), (x(*high), y), color, 2.0);
        svg.line((x(*low), y - 7.0), (x(*low), y + 7.0), color, 2.0);
        svg.line((x(*high), y - 7.0), (x(*high), y + 7.0), color, 2.0);
        svg.circle(
            (x(*share), y),
            6.0,
            color,
            &format!(
                "{name}: {:.2}% (95% CI {:.2}–{:.2}%)",
                share * 100.0,
                low * 100.0,
                high * 100.0
            ),
        );
    }
    svg.finish(kind, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_are_round() {
        let close = |(top, step): (f64, f64), expected: (f64, f64)| {
            assert!((top - expected.0).abs() < 1e-9 && (step - expected.1).abs() < 1e-9);
        };
        close(nice_scale(0.083), (0.1, 0.02));
        close(nice_scale(730.0), (800.0, 200.0));
        assert_eq!(nice_scale(0.0), (1.0, 0.25));
        let (top, step) = nice_scale(1.0);
        assert!(top >= 1.0 && top / step <= 5.0);
    }

    #[test]
    fn count_ticks_are_whole_numbers() {
        // The demo's calls-per-day chart: at most 2 calls a day was labelled
        // 0, 0, 1, 2, 2 (steps of 0.5 printed without decimals).
        assert_eq!(count_scale(2.0), (2.0, 1.0));
        assert_eq!(count_scale(0.0), (1.0, 1.0));
        assert_eq!(count_scale(1.0), (1.0, 1.0));
        assert_eq!(count_scale(7.0), (8.0, 2.0));
        assert_eq!(count_scale(23.0), (25.0, 5.0));
        assert_eq!(count_scale(730.0), (800.0, 200.0));
        for max in 0..2_000 {
            let (top, step) = count_scale(f64::from(max));
            assert!(top >= f64::from(max) && step >= 1.0, "{max}");
            assert_eq!(step, step.round(), "{max}");
            assert!(top / step <= 5.0 + 1e-9, "{max}");
        }
        let svg = bar_chart(
            "volume",
            "calls per day",
            &["2026-09-01".to_string(), "2026-09-02".to_string()],
            &[1.0, 2.0],
            None,
        );
        let labels: Vec<&str> = svg
            .split("text-anchor=\"end\"")
            .skip(1)
            .filter_map(|rest| rest.split('>').nth(1)?.split('<').next())
            .collect();
        assert_eq!(labels, ["0", "1", "2"], "{svg}");
        assert_eq!(tick_label(2_500.0, false), "2.5k");
        assert_eq!(tick_label(2_000.0, false), "2k");
    }

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text((0.0, 0.0), "<b>&\"", 10.0, "start", INK);
        let out = svg.finish("x", "a & b");
        assert!(out.contains("&lt;b&gt;&amp;&quot;"), "{out}");
        assert!(out.contains(r#"aria-label="a &amp; b""#), "{out}");
    }
}
