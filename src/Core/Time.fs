/// Instants (int64 epoch millis, UTC), intervals, ISO-8601 periods and Druid granularities.
/// Calendar arithmetic in time zones goes through NodaTime's immutable tz database.
module FunctionalDruid.Core.Time

open System
open System.Globalization
open System.Text
open NodaTime

/// Druid's smallest and largest instants (JodaUtils.MIN_INSTANT / MAX_INSTANT).
let minInstant = Int64.MinValue / 2L
let maxInstant = Int64.MaxValue / 2L

/// A half-open interval [Start, End) in epoch millis.
[<Struct>]
type Interval =
    { Start: int64
      End: int64 }
    member this.Contains(t: int64) = t >= this.Start && t < this.End
    member this.Overlaps(o: Interval) = this.Start < o.End && o.Start < this.End
    member this.ContainsInterval(o: Interval) = this.Start <= o.Start && o.End <= this.End

let eternity = { Start = minInstant; End = maxInstant }

// ---- civil calendar (proleptic Gregorian, UTC) -------------------------------------------

let private daysFromCivil (y: int64) (m: int) (d: int) : int64 =
    let y = if m <= 2 then y - 1L else y
    let era = (if y >= 0L then y else y - 399L) / 400L
    let yoe = y - era * 400L
    let mp = int64 ((m + 9) % 12)
    let doy = (153L * mp + 2L) / 5L + int64 d - 1L
    let doe = yoe * 365L + yoe / 4L - yoe / 100L + doy
    era * 146097L + doe - 719468L

let private civilFromDays (z: int64) : int64 * int * int =
    let z = z + 719468L
    let era = (if z >= 0L then z else z - 146096L) / 146097L
    let doe = z - era * 146097L
    let yoe = (doe - doe / 1460L + doe / 36524L - doe / 146096L) / 365L
    let y = yoe + era * 400L
    let doy = doe - (365L * yoe + yoe / 4L - yoe / 100L)
    let mp = (5L * doy + 2L) / 153L
    let d = int (doy - (153L * mp + 2L) / 5L + 1L)
    let m = int (if mp < 10L then mp + 3L else mp - 9L)
    ((if m <= 2 then y + 1L else y), m, d)

let private floorDiv (a: int64) (b: int64) = let q = a / b in if (a % b <> 0L) && ((a < 0L) <> (b < 0L)) then q - 1L else q
let private floorMod (a: int64) (b: int64) = a - floorDiv a b * b

let private isLeap (y: int64) = (y % 4L = 0L && y % 100L <> 0L) || y % 400L = 0L
let private daysInMonth (y: int64) (m: int) =
    match m with
    | 2 -> if isLeap y then 29 else 28
    | 4 | 6 | 9 | 11 -> 30
    | _ -> 31

/// Epoch millis of a UTC calendar time.
let utcMillis (y: int64) (mo: int) (d: int) (h: int) (mi: int) (s: int) (ms: int) : int64 =
    daysFromCivil y mo d * 86_400_000L + int64 h * 3_600_000L + int64 mi * 60_000L + int64 s * 1000L + int64 ms

// ---- time zones --------------------------------------------------------------------------

/// Accepts IANA ids, "UTC"/"Z", and fixed offsets such as "+08:00", "-0530", "+8".
let tryParseZone (text: string) : DateTimeZone option =
    if isNull text then None
    else
    let t = text.Trim()
    if t = "" then None
    elif t = "UTC" || t = "Z" || t = "GMT" || t = "Etc/UTC" then Some DateTimeZone.Utc
    elif t.[0] = '+' || t.[0] = '-' then
        let sign = if t.[0] = '-' then -1 else 1
        let digits = t.Substring(1).Replace(":", "")
        let ok, hh, mm =
            match digits.Length with
            | 1 | 2 -> true, int digits, 0
            | 4 when Seq.forall Char.IsDigit digits -> true, int (digits.Substring(0, 2)), int (digits.Substring 2)
            | _ -> false, 0, 0
        if ok && Seq.forall Char.IsDigit digits && hh <= 18 && mm < 60 then
            Some(DateTimeZone.ForOffset(Offset.FromSeconds(sign * (hh * 3600 + mm * 60))))
        else None
    else
        match DateTimeZoneProviders.Tzdb.GetZoneOrNull t with
        | null ->
            // Joda accepts the "UTC+8"-style forms less often than ids; try case-insensitively.
            DateTimeZoneProviders.Tzdb.Ids
            |> Seq.tryFind (fun id -> String.Equals(id, t, StringComparison.OrdinalIgnoreCase))
            |> Option.map (fun id -> DateTimeZoneProviders.Tzdb.[id])
        | z -> Some z

let isUtc (z: DateTimeZone) = z = DateTimeZone.Utc || (z.MinOffset = Offset.Zero && z.MaxOffset = Offset.Zero)

let offsetMillis (z: DateTimeZone) (t: int64) : int64 =
    if isUtc z then 0L
    else int64 (z.GetUtcOffset(Instant.FromUnixTimeMilliseconds t).Milliseconds)

// ---- parsing and printing instants -------------------------------------------------------

/// Lenient ISO-8601 as Druid's intervals and `auto`/`iso` timestamps accept it:
/// `2013-08-31`, `2015-09-12T00Z`, `2022-6-14T10:32:08Z`, `2013-08-31 01:02:33.5+08:00`.
/// Times without an offset are read in `zone` (UTC for Druid's defaults).
let tryParseInstantIn (zone: DateTimeZone) (text: string) : int64 option =
    if isNull text then None
    else
    let s = text.Trim()
    let n = s.Length
    let mutable i = 0
    let digits maxLen =
        let start = i
        while i < n && i - start < maxLen && Char.IsDigit s.[i] do
            i <- i + 1
        if i = start then -1L else Int64.Parse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture)
    let expect (c: char) = if i < n && s.[i] = c then i <- i + 1; true else false
    let negYear = if n > 0 && (s.[0] = '-' || s.[0] = '+') then (let neg = s.[0] = '-' in i <- 1; neg) else false
    let year = digits 9
    if year < 0L || (i < n && Char.IsDigit s.[i]) then None
    else
        let year = if negYear then -year else year
        let mutable month, day, hour, minute, second, millis = 1, 1, 0, 0, 0, 0
        let mutable ok = true
        let mutable zoneOffset : int64 option = None
        if expect '-' then
            let m = digits 2
            if m < 1L || m > 12L then ok <- false else month <- int m
            if ok && expect '-' then
                let d = digits 2
                if d < 1L || d > int64 (daysInMonth year month) then ok <- false else day <- int d
        if ok && i < n && (s.[i] = 'T' || s.[i] = 't' || s.[i] = ' ') then
            i <- i + 1
            let h = digits 2
            if h < 0L || h > 24L then ok <- false else hour <- int h
            if ok && expect ':' then
                let m = digits 2
                if m < 0L || m > 59L then ok <- false else minute <- int m
                if ok && expect ':' then
                    let sec = digits 2
                    if sec < 0L || sec > 59L then ok <- false else second <- int sec
                    if ok && i < n && (s.[i] = '.' || s.[i] = ',') then
                        i <- i + 1
                        let start = i
                        while i < n && Char.IsDigit s.[i] do
                            i <- i + 1
                        let frac = s.Substring(start, i - start)
                        if frac = "" then ok <- false
                        else millis <- int ((frac + "00").Substring(0, 3))
        if ok && i < n then
            if s.[i] = 'Z' || s.[i] = 'z' then
                i <- i + 1
                zoneOffset <- Some 0L
            elif s.[i] = '+' || s.[i] = '-' then
                let sign = if s.[i] = '-' then -1L else 1L
                i <- i + 1
                let hh = digits 2
                let _ = expect ':'
                let mm = if i < n && Char.IsDigit s.[i] then digits 2 else 0L
                if hh < 0L || hh > 18L || mm < 0L || mm > 59L then ok <- false
                else zoneOffset <- Some(sign * (hh * 3_600_000L + mm * 60_000L))
            else ok <- false
        if not ok || i <> n then None
        else
            let local = utcMillis year month day hour minute second millis
            match zoneOffset with
            | Some off -> Some(local - off)
            | None when isUtc zone -> Some local
            | None ->
                let ldt = LocalDateTime(int year, month, day, 0, 0).PlusHours(int64 hour).PlusMinutes(int64 minute).PlusSeconds(int64 second).PlusMilliseconds(int64 millis)
                Some((zone.AtLeniently ldt).ToInstant().ToUnixTimeMilliseconds())

let tryParseInstant (text: string) = tryParseInstantIn DateTimeZone.Utc text

let private appendTwo (sb: StringBuilder) (v: int) = sb.Append(char (48 + v / 10)).Append(char (48 + v % 10)) |> ignore

/// `2013-08-31T01:02:33.000` part of an ISO timestamp for a wall-clock millis value.
let private appendLocal (sb: StringBuilder) (local: int64) =
    let days = floorDiv local 86_400_000L
    let msOfDay = int (local - days * 86_400_000L)
    let (y, m, d) = civilFromDays days
    if y >= 0L && y <= 9999L then sb.Append(y.ToString("0000", CultureInfo.InvariantCulture)) |> ignore
    else sb.Append(y.ToString(CultureInfo.InvariantCulture)) |> ignore
    sb.Append('-') |> ignore
    appendTwo sb m
    sb.Append('-') |> ignore
    appendTwo sb d
    sb.Append('T') |> ignore
    appendTwo sb (msOfDay / 3_600_000)
    sb.Append(':') |> ignore
    appendTwo sb (msOfDay / 60_000 % 60)
    sb.Append(':') |> ignore
    appendTwo sb (msOfDay / 1000 % 60)
    sb.Append('.').Append((msOfDay % 1000).ToString("000", CultureInfo.InvariantCulture)) |> ignore

/// `2013-08-31T00:00:00.000Z`, the form Druid prints every UTC timestamp in.
let formatIso (t: int64) : string =
    let sb = StringBuilder(24)
    appendLocal sb t
    sb.Append('Z').ToString()

/// A timestamp in a zone as Joda prints it: `2019-06-05T00:00:00.000+08:00`; `Z` when the
/// offset is zero.
let formatInZone (zone: DateTimeZone) (t: int64) : string =
    let off = offsetMillis zone t
    if off = 0L then formatIso t
    else
        let sb = StringBuilder(29)
        appendLocal sb (t + off)
        let a = abs off
        sb.Append(if off < 0L then '-' else '+') |> ignore
        appendTwo sb (int (a / 3_600_000L))
        sb.Append(':') |> ignore
        appendTwo sb (int (a / 60_000L % 60L))
        sb.ToString()

let formatInterval (i: Interval) = formatIso i.Start + "/" + formatIso i.End

// ---- periods -----------------------------------------------------------------------------

/// An ISO-8601 period with Joda's fields.
type Period =
    { Years: int; Months: int; Weeks: int; Days: int
      Hours: int; Minutes: int; Seconds: int; Millis: int }

let zeroPeriod = { Years = 0; Months = 0; Weeks = 0; Days = 0; Hours = 0; Minutes = 0; Seconds = 0; Millis = 0 }

/// `P1D`, `PT1H`, `P1Y2M`, `P2W`, `PT0.5S`, `P1DT12H`.
let tryParsePeriod (text: string) : Period option =
    if isNull text then None
    else
    let s = text.Trim().ToUpperInvariant()
    if s.Length < 2 || s.[0] <> 'P' then None
    else
        let mutable p = zeroPeriod
        let mutable inTime = false
        let mutable ok = true
        let mutable any = false
        let mutable i = 1
        while ok && i < s.Length do
            if s.[i] = 'T' then
                if inTime then ok <- false
                inTime <- true
                i <- i + 1
            else
                let start = i
                while i < s.Length && (Char.IsDigit s.[i] || s.[i] = '.' || s.[i] = ',' || (i = start && s.[i] = '-')) do
                    i <- i + 1
                if i = start || i >= s.Length then ok <- false
                else
                    let num = s.Substring(start, i - start).Replace(',', '.')
                    let unit = s.[i]
                    i <- i + 1
                    any <- true
                    let whole () =
                        match Int32.TryParse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
                        | true, v -> v
                        | _ -> ok <- false; 0
                    match inTime, unit with
                    | false, 'Y' -> p <- { p with Years = whole () }
                    | false, 'M' -> p <- { p with Months = whole () }
                    | false, 'W' -> p <- { p with Weeks = whole () }
                    | false, 'D' -> p <- { p with Days = whole () }
                    | true, 'H' -> p <- { p with Hours = whole () }
                    | true, 'M' -> p <- { p with Minutes = whole () }
                    | true, 'S' ->
                        match Decimal.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture) with
                        | true, v ->
                            let ms = Decimal.Round(v * 1000m)
                            p <- { p with Seconds = int (ms / 1000m); Millis = int (ms % 1000m) }
                        | _ -> ok <- false
                    | _ -> ok <- false
        if ok && any then Some p else None

let formatPeriod (p: Period) : string =
    let sb = StringBuilder("P")
    let add (v: int) (u: string) = if v <> 0 then sb.Append(v).Append(u) |> ignore
    add p.Years "Y"
    add p.Months "M"
    add p.Weeks "W"
    add p.Days "D"
    if p.Hours <> 0 || p.Minutes <> 0 || p.Seconds <> 0 || p.Millis <> 0 then
        sb.Append('T') |> ignore
        add p.Hours "H"
        add p.Minutes "M"
        if p.Millis <> 0 then
            sb.Append((decimal p.Seconds + decimal p.Millis / 1000m).ToString(CultureInfo.InvariantCulture)).Append('S') |> ignore
        else add p.Seconds "S"
    if sb.Length = 1 then "PT0S" else sb.ToString()

/// Length in millis when the period has no calendar fields (years, months).
let fixedPeriodMillis (p: Period) : int64 option =
    if p.Years <> 0 || p.Months <> 0 then None
    else
        Some(int64 p.Weeks * 604_800_000L + int64 p.Days * 86_400_000L + int64 p.Hours * 3_600_000L
             + int64 p.Minutes * 60_000L + int64 p.Seconds * 1000L + int64 p.Millis)

let private toNodaPeriod (p: Period) (times: int) =
    let b = PeriodBuilder()
    b.Years <- p.Years * times
    b.Months <- p.Months * times
    b.Weeks <- p.Weeks * times
    b.Days <- p.Days * times
    b.Hours <- int64 p.Hours * int64 times
    b.Minutes <- int64 p.Minutes * int64 times
    b.Seconds <- int64 p.Seconds * int64 times
    b.Milliseconds <- int64 p.Millis * int64 times
    b.Build()

/// `t` plus `times` periods, with days and larger units following the zone's calendar
/// (a day across a DST change is 23 or 25 hours, as in Joda).
let addPeriod (zone: DateTimeZone) (p: Period) (times: int) (t: int64) : int64 =
    let dayOrLess = p.Years = 0 && p.Months = 0
    match fixedPeriodMillis p with
    | Some ms when dayOrLess && (isUtc zone || (p.Weeks = 0 && p.Days = 0)) -> t + ms * int64 times
    | _ ->
        let inst = Instant.FromUnixTimeMilliseconds t
        let local = inst.InZone(zone).LocalDateTime
        // Split date and time parts as Joda does: calendar fields on the local date-time,
        // fixed fields on the instant.
        let datePart = { zeroPeriod with Years = p.Years; Months = p.Months; Weeks = p.Weeks; Days = p.Days }
        let shifted = local + toNodaPeriod datePart times
        let back = (zone.AtLeniently shifted).ToInstant().ToUnixTimeMilliseconds()
        let timeMs = int64 p.Hours * 3_600_000L + int64 p.Minutes * 60_000L + int64 p.Seconds * 1000L + int64 p.Millis
        back + timeMs * int64 times

// ---- granularities -----------------------------------------------------------------------

/// Druid's query and segment granularities.
[<RequireQualifiedAccess>]
type Granularity =
    /// One bucket for all time.
    | All
    /// Druid's `none`: millisecond buckets, i.e. no truncation.
    | NoTruncation
    /// A period in a time zone, optionally anchored at an origin; `Name` keeps the simple
    /// name (`HOUR`, `DAY`, ...) it was given as, which Druid prints back.
    | Period of period: Period * zone: DateTimeZone * origin: int64 option * name: string option
    /// A fixed duration in millis from an origin.
    | Duration of millis: int64 * origin: int64

let simpleGranularities =
    [ "SECOND", "PT1S"; "MINUTE", "PT1M"; "FIVE_MINUTE", "PT5M"; "TEN_MINUTE", "PT10M"
      "FIFTEEN_MINUTE", "PT15M"; "THIRTY_MINUTE", "PT30M"; "HOUR", "PT1H"; "SIX_HOUR", "PT6H"
      "EIGHT_HOUR", "PT8H"; "DAY", "P1D"; "WEEK", "P1W"; "MONTH", "P1M"; "QUARTER", "P3M"; "YEAR", "P1Y" ]

let tryGranularityOfName (name: string) : Granularity option =
    if isNull name then None
    else
    match name.Trim().ToUpperInvariant() with
    | "ALL" -> Some Granularity.All
    | "NONE" -> Some Granularity.NoTruncation
    | up ->
        match simpleGranularities |> List.tryFind (fun (n, _) -> n = up) with
        | Some(n, p) -> Some(Granularity.Period((tryParsePeriod p).Value, DateTimeZone.Utc, None, Some n))
        | None ->
            tryParsePeriod name |> Option.map (fun p -> Granularity.Period(p, DateTimeZone.Utc, None, None))

/// The name Druid prints for a granularity (`HOUR`, `NONE`, `ALL`), if it has one.
let granularityName (g: Granularity) : string option =
    match g with
    | Granularity.All -> Some "ALL"
    | Granularity.NoTruncation -> Some "NONE"
    | Granularity.Period(_, _, None, Some n) -> Some n
    | _ -> None

let private localFields (zone: DateTimeZone) (t: int64) =
    if isUtc zone then t
    else t + offsetMillis zone t

let private fromLocal (zone: DateTimeZone) (local: int64) : int64 =
    if isUtc zone then local
    else
        let days = floorDiv local 86_400_000L
        let (y, m, d) = civilFromDays days
        let msOfDay = local - days * 86_400_000L
        let ldt = LocalDateTime(int y, m, d, 0, 0).PlusMilliseconds(msOfDay)
        (zone.AtLeniently ldt).ToInstant().ToUnixTimeMilliseconds()

/// Start of the period bucket containing `t` when no origin is given. Single-unit periods
/// floor the local calendar field; multiples count units from 1970 in the zone's calendar.
let private truncateNoOrigin (p: Period) (zone: DateTimeZone) (t: int64) : int64 =
    let local = localFields zone t
    let days = floorDiv local 86_400_000L
    let (y, m, _) = civilFromDays days
    let singleField =
        [ p.Years; p.Months; p.Weeks; p.Days; p.Hours; p.Minutes; p.Seconds; p.Millis ]
        |> List.filter (fun v -> v <> 0) |> List.length = 1
    if not singleField then
        // Mixed periods: anchor at the epoch in local time and step.
        let origin = fromLocal zone 0L
        match fixedPeriodMillis p with
        | Some ms when ms > 0L && (isUtc zone || (p.Weeks = 0 && p.Days = 0)) -> origin + floorDiv (t - origin) ms * ms
        | _ ->
            let mutable s = origin
            while addPeriod zone p 1 s <= t do s <- addPeriod zone p 1 s
            while s > t do s <- addPeriod zone p -1 s
            s
    elif p.Years <> 0 then
        let n = int64 p.Years
        let yy = 1970L + floorDiv (y - 1970L) n * n
        fromLocal zone (daysFromCivil yy 1 1 * 86_400_000L)
    elif p.Months <> 0 then
        let n = int64 p.Months
        let monthsSinceEpoch = (y - 1970L) * 12L + int64 (m - 1)
        let k = floorDiv monthsSinceEpoch n * n
        let yy = 1970L + floorDiv k 12L
        let mm = int (floorMod k 12L) + 1
        fromLocal zone (daysFromCivil yy mm 1 * 86_400_000L)
    elif p.Weeks <> 0 then
        // 1969-12-29 was a Monday: weeks start on Mondays (ISO).
        let n = int64 p.Weeks * 7L
        let mondayEpoch = -3L
        let d = mondayEpoch + floorDiv (days - mondayEpoch) n * n
        fromLocal zone (d * 86_400_000L)
    elif p.Days <> 0 then
        let n = int64 p.Days
        fromLocal zone (floorDiv days n * n * 86_400_000L)
    else
        let unit, count =
            if p.Hours <> 0 then 3_600_000L, int64 p.Hours
            elif p.Minutes <> 0 then 60_000L, int64 p.Minutes
            elif p.Seconds <> 0 then 1000L, int64 p.Seconds
            else 1L, int64 p.Millis
        if count = 1L then
            // Floor the local wall clock (matters for zones with a sub-hour offset).
            fromLocal zone (floorDiv local unit * unit)
        else
            let size = unit * count
            floorDiv t size * size

let private truncateWithOrigin (p: Period) (zone: DateTimeZone) (origin: int64) (t: int64) : int64 =
    match fixedPeriodMillis p with
    | Some ms when ms > 0L && (isUtc zone || (p.Weeks = 0 && p.Days = 0)) -> origin + floorDiv (t - origin) ms * ms
    | _ ->
        // Calendar periods: estimate with an average length, then step to the exact bucket.
        let approx =
            (int64 p.Years * 365L * 86_400_000L + int64 p.Months * 30L * 86_400_000L
             + (defaultArg (fixedPeriodMillis { p with Years = 0; Months = 0 }) 0L))
        let approx = max approx 1L
        let guess = int (floorDiv (t - origin) approx)
        let mutable k = guess
        while addPeriod zone p k origin > t do k <- k - 1
        while addPeriod zone p (k + 1) origin <= t do k <- k + 1
        addPeriod zone p k origin

/// Start of the bucket that contains `t`.
let bucketStart (g: Granularity) (t: int64) : int64 =
    match g with
    | Granularity.All -> minInstant
    | Granularity.NoTruncation -> t
    | Granularity.Duration(ms, origin) -> origin + floorDiv (t - origin) ms * ms
    | Granularity.Period(p, zone, None, _) -> truncateNoOrigin p zone t
    | Granularity.Period(p, zone, Some origin, _) -> truncateWithOrigin p zone origin t

/// Start of the bucket after the one starting at `bucket`.
let nextBucket (g: Granularity) (bucket: int64) : int64 =
    match g with
    | Granularity.All -> maxInstant
    | Granularity.NoTruncation -> bucket + 1L
    | Granularity.Duration(ms, _) -> bucket + ms
    | Granularity.Period(p, zone, _, _) -> addPeriod zone p 1 bucket

/// The bucket intervals of a granularity that overlap an interval, in order.
let bucketsOf (g: Granularity) (i: Interval) : Interval seq =
    seq {
        match g with
        | Granularity.All -> yield i
        | _ ->
            let mutable s = bucketStart g i.Start
            while s < i.End do
                let e = nextBucket g s
                yield { Start = s; End = e }
                s <- e
    }

/// The time zone a granularity prints its timestamps in.
let granularityZone (g: Granularity) : DateTimeZone =
    match g with
    | Granularity.Period(_, z, _, _) -> z
    | _ -> DateTimeZone.Utc

/// Whether `fine` buckets always nest inside `coarse` buckets (queryGranularity must be
/// at least as fine as segmentGranularity).
let isFinerOrEqual (fine: Granularity) (coarse: Granularity) : bool =
    match fine, coarse with
    | _, Granularity.All -> true
    | Granularity.All, _ -> false
    | Granularity.NoTruncation, _ -> true
    | _, Granularity.NoTruncation -> false
    | _ ->
        // Compare bucket boundaries over a sample year: every coarse boundary must be a fine one.
        let sample = { Start = utcMillis 2000L 1 1 0 0 0 0; End = utcMillis 2001L 1 1 0 0 0 0 }
        bucketsOf coarse sample |> Seq.truncate 400 |> Seq.forall (fun b -> bucketStart fine b.Start = b.Start)

// ---- intervals ---------------------------------------------------------------------------

/// `start/end`, `start/period`, `period/end` (Druid's interval strings), instants without an
/// offset read in `zone` and periods counted in it (SQL's session time zone).
let tryParseIntervalIn (zone: DateTimeZone) (text: string) : Interval option =
    if isNull text then None
    else
    match text.Trim().Split('/') with
    | [| a; b |] ->
        let pa, pb = tryParsePeriod a, tryParsePeriod b
        match pa, pb with
        | None, None ->
            match tryParseInstantIn zone a, tryParseInstantIn zone b with
            | Some s, Some e when s <= e -> Some { Start = s; End = e }
            | _ -> None
        | None, Some p -> tryParseInstantIn zone a |> Option.map (fun s -> { Start = s; End = addPeriod zone p 1 s })
        | Some p, None -> tryParseInstantIn zone b |> Option.map (fun e -> { Start = addPeriod zone p -1 e; End = e })
        | Some _, Some _ -> None
    | _ -> None

/// `start/end`, `start/period`, `period/end` (Druid's interval strings), in UTC.
let tryParseInterval (text: string) : Interval option = tryParseIntervalIn DateTimeZone.Utc text
