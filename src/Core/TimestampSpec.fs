/// Druid's `timestampSpec`: which input field holds the row time and how to read it
/// (`auto`, `iso`, `millis`, `posix`, `micro`, `nano`, `ruby` or a Joda-Time pattern).
module FunctionalDruid.Core.TimestampSpec

open System
open System.Globalization
open System.Text
open NodaTime

/// Joda-Time `DateTimeFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZZ`, `dd/MMM/yyyy:HH:mm:ss Z`),
/// parsed and printed the way Joda does in an English locale.
module JodaPattern =

    [<RequireQualifiedAccess>]
    type NumericField =
        | Year
        | Month
        | DayOfMonth
        | DayOfYear
        | DayOfWeek
        | HourOfDay
        | ClockHourOfDay
        | HourOfHalfday
        | ClockHourOfHalfday
        | Minute
        | Second

    [<RequireQualifiedAccess>]
    type Token =
        | Literal of string
        /// printed with at least `minDigits`, parsed with up to `maxDigits`
        | Number of field: NumericField * minDigits: int * maxDigits: int
        /// `yy`: two digits mapped into a century window; `lenient` also accepts a full year
        | TwoDigitYear of lenient: bool
        | Fraction of digits: int
        | MonthText of longForm: bool
        | DayOfWeekText of longForm: bool
        | HalfdayText
        | EraText
        | Offset of withColon: bool
        | ZoneId
        | ZoneName

    /// A compiled pattern; compiling once per spec keeps per-row parsing free of pattern work.
    type Pattern = { Text: string; Tokens: Token[] }

    let private monthNames =
        [| "January"; "February"; "March"; "April"; "May"; "June"; "July"; "August"; "September"; "October"; "November"; "December" |]
    let private dayNames = [| "Monday"; "Tuesday"; "Wednesday"; "Thursday"; "Friday"; "Saturday"; "Sunday" |]

    /// Joda picks the two-digit-year window from the current year minus 30; the core reads no
    /// clock, so the window is fixed at 1946..2045 (what Joda uses in 2026).
    let private twoDigitYearPivot = 1996

    let private isNumericToken (letter: char) (count: int) =
        match letter with
        | 'c' | 'C' | 'x' | 'y' | 'Y' | 'd' | 'h' | 'H' | 'm' | 's' | 'S' | 'e' | 'D' | 'F' | 'w' | 'W' | 'k' | 'K' -> true
        | 'M' -> count <= 2
        | _ -> false

    /// Splits a pattern into (letter, count) runs and literal texts, as Joda's tokenizer does.
    let private tokenize (pattern: string) : Result<Choice<char * int, string> list, string> =
        let n = pattern.Length
        let rec go i acc =
            if i >= n then Ok(List.rev acc)
            else
                let c = pattern.[i]
                if c = '\'' then
                    // quoted literal; '' inside (or alone) is one quote
                    if i + 1 < n && pattern.[i + 1] = '\'' then go (i + 2) (Choice2Of2 "'" :: acc)
                    else
                        let sb = StringBuilder()
                        let mutable j = i + 1
                        let mutable closed = false
                        while j < n && not closed do
                            if pattern.[j] = '\'' then
                                if j + 1 < n && pattern.[j + 1] = '\'' then
                                    sb.Append('\'') |> ignore
                                    j <- j + 2
                                else
                                    closed <- true
                                    j <- j + 1
                            else
                                sb.Append(pattern.[j]) |> ignore
                                j <- j + 1
                        go j (Choice2Of2(sb.ToString()) :: acc)
                elif (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') then
                    let mutable j = i
                    while j < n && pattern.[j] = c do
                        j <- j + 1
                    go j (Choice1Of2(c, j - i) :: acc)
                else
                    let mutable j = i
                    while j < n && pattern.[j] <> '\'' && not ((pattern.[j] >= 'a' && pattern.[j] <= 'z') || (pattern.[j] >= 'A' && pattern.[j] <= 'Z')) do
                        j <- j + 1
                    go j (Choice2Of2(pattern.Substring(i, j - i)) :: acc)
        go 0 []

    /// Compiles a pattern; unknown letters are rejected as Joda rejects them. A bare `T` is
    /// accepted as a literal because users write ISO-looking patterns without quoting it.
    let compile (pattern: string) : Result<Pattern, string> =
        if String.IsNullOrEmpty pattern then Error "Invalid pattern specification"
        else
        match tokenize pattern with
        | Error e -> Error e
        | Ok raw ->
            let raw = List.toArray raw
            let nextIsNumeric i =
                i + 1 < raw.Length && (match raw.[i + 1] with Choice1Of2(c, k) -> isNumericToken c k | _ -> false)
            let tokens = ResizeArray<Token>()
            let mutable error = None
            for i in 0 .. raw.Length - 1 do
                match raw.[i] with
                | Choice2Of2 text -> tokens.Add(Token.Literal text)
                | Choice1Of2(c, k) ->
                    let num f maxDigits = tokens.Add(Token.Number(f, k, max k maxDigits))
                    match c with
                    | 'y' | 'Y' ->
                        if k = 2 then tokens.Add(Token.TwoDigitYear(not (nextIsNumeric i)))
                        else tokens.Add(Token.Number(NumericField.Year, k, (if nextIsNumeric i then k else 9)))
                    | 'M' ->
                        if k >= 4 then tokens.Add(Token.MonthText true)
                        elif k = 3 then tokens.Add(Token.MonthText false)
                        else num NumericField.Month 2
                    | 'd' -> num NumericField.DayOfMonth 2
                    | 'D' -> num NumericField.DayOfYear 3
                    | 'e' -> num NumericField.DayOfWeek 1
                    | 'E' -> tokens.Add(Token.DayOfWeekText(k >= 4))
                    | 'H' -> num NumericField.HourOfDay 2
                    | 'k' -> num NumericField.ClockHourOfDay 2
                    | 'K' -> num NumericField.HourOfHalfday 2
                    | 'h' -> num NumericField.ClockHourOfHalfday 2
                    | 'm' -> num NumericField.Minute 2
                    | 's' -> num NumericField.Second 2
                    | 'S' -> tokens.Add(Token.Fraction k)
                    | 'a' -> tokens.Add Token.HalfdayText
                    | 'G' -> tokens.Add Token.EraText
                    | 'Z' -> tokens.Add(if k = 1 then Token.Offset false elif k = 2 then Token.Offset true else Token.ZoneId)
                    | 'z' -> tokens.Add Token.ZoneName
                    | 'T' -> tokens.Add(Token.Literal(String('T', k)))
                    | _ -> if error.IsNone then error <- Some(sprintf "Illegal pattern component: %s" (String(c, k)))
            match error with
            | Some e -> Error e
            | None -> Ok { Text = pattern; Tokens = tokens.ToArray() }

    let private daysInMonth (y: int) (m: int) =
        match m with
        | 2 -> if (y % 4 = 0 && y % 100 <> 0) || y % 400 = 0 then 29 else 28
        | 4 | 6 | 9 | 11 -> 30
        | _ -> 31

    /// Zone ids, longest first, so `America/Argentina/Buenos_Aires` wins over a shorter prefix.
    let private zoneIdsLongestFirst =
        lazy (DateTimeZoneProviders.Tzdb.Ids |> Seq.sortByDescending (fun s -> s.Length) |> Seq.toArray)

    /// Case-insensitive longest match of one of `candidates` at `pos`; returns (index, length).
    let private matchText (s: string) (pos: int) (candidates: string[]) =
        let mutable best = -1
        let mutable bestLen = 0
        for i in 0 .. candidates.Length - 1 do
            let c = candidates.[i]
            if c.Length > bestLen && pos + c.Length <= s.Length
               && String.Compare(s, pos, c, 0, c.Length, StringComparison.OrdinalIgnoreCase) = 0 then
                best <- i
                bestLen <- c.Length
        best, bestLen

    let private monthTexts = Array.append monthNames (monthNames |> Array.map (fun m -> m.Substring(0, 3)))
    let private dayTexts = Array.append dayNames (dayNames |> Array.map (fun d -> d.Substring(0, 3)))

    /// Parses `text` fully; fields the pattern lacks default to 1970-01-01T00:00:00.000, and
    /// a time without an offset or zone in the pattern is local to `zone`.
    let tryParseWith (pattern: Pattern) (zone: DateTimeZone) (text: string) : int64 option =
        if isNull text then None
        else
        let s = text
        let n = s.Length
        let mutable pos = 0
        let mutable ok = true
        let mutable year, month, day, dayOfYear, dayOfWeek = 1970, 1, 1, 0, 0
        let mutable hourOfDay, hourOfHalf, pm, minute, second, millis = 0, -1, -1, 0, 0, 0
        let mutable negativeEra = false
        let mutable offset : int64 voption = ValueNone
        let mutable parsedZone : DateTimeZone = null
        let readDigits (maxDigits: int) (signed: bool) : int64 voption =
            let mutable neg = false
            if signed && pos < n && (s.[pos] = '-' || s.[pos] = '+') then
                neg <- s.[pos] = '-'
                pos <- pos + 1
            let start = pos
            let mutable v = 0L
            while pos < n && pos - start < maxDigits && s.[pos] >= '0' && s.[pos] <= '9' do
                v <- v * 10L + int64 (int s.[pos] - 48)
                pos <- pos + 1
            if pos = start then ValueNone else ValueSome(if neg then -v else v)
        let inRange (v: int64) lo hi = if v < int64 lo || v > int64 hi then ok <- false
        let tokens = pattern.Tokens
        let mutable t = 0
        while ok && t < tokens.Length do
            match tokens.[t] with
            | Token.Literal lit ->
                if pos + lit.Length <= n && String.Compare(s, pos, lit, 0, lit.Length, StringComparison.OrdinalIgnoreCase) = 0 then
                    pos <- pos + lit.Length
                else ok <- false
            | Token.Number(field, _, maxDigits) ->
                match readDigits maxDigits (field = NumericField.Year) with
                | ValueNone -> ok <- false
                | ValueSome v ->
                    match field with
                    | NumericField.Year -> inRange v -292275054 292278993; year <- int v
                    | NumericField.Month -> inRange v 1 12; month <- int v
                    | NumericField.DayOfMonth -> inRange v 1 31; day <- int v
                    | NumericField.DayOfYear -> inRange v 1 366; dayOfYear <- int v
                    | NumericField.DayOfWeek -> inRange v 1 7; dayOfWeek <- int v
                    | NumericField.HourOfDay -> inRange v 0 23; hourOfDay <- int v; hourOfHalf <- -1
                    | NumericField.ClockHourOfDay -> inRange v 1 24; hourOfDay <- int v % 24; hourOfHalf <- -1
                    | NumericField.HourOfHalfday -> inRange v 0 11; hourOfHalf <- int v
                    | NumericField.ClockHourOfHalfday -> inRange v 1 12; hourOfHalf <- int v % 12
                    | NumericField.Minute -> inRange v 0 59; minute <- int v
                    | NumericField.Second -> inRange v 0 59; second <- int v
            | Token.TwoDigitYear lenient ->
                let start = pos
                match readDigits (if lenient then 9 else 2) lenient with
                | ValueNone -> ok <- false
                | ValueSome v ->
                    let consumed = pos - start
                    if consumed = 2 && s.[start] <> '-' && s.[start] <> '+' then
                        let low = twoDigitYearPivot - 50
                        let t0 = low % 100
                        year <- int v + low + (if int v < t0 then 100 else 0) - t0
                    elif lenient then year <- int v
                    else ok <- false
            | Token.Fraction _ ->
                let start = pos
                match readDigits 9 false with
                | ValueNone -> ok <- false
                | ValueSome _ ->
                    let digits = s.Substring(start, pos - start)
                    millis <- int ((digits + "00").Substring(0, 3))
            | Token.MonthText _ ->
                let i, len = matchText s pos monthTexts
                if i < 0 then ok <- false else month <- i % 12 + 1; pos <- pos + len
            | Token.DayOfWeekText _ ->
                let i, len = matchText s pos dayTexts
                if i < 0 then ok <- false else dayOfWeek <- i % 7 + 1; pos <- pos + len
            | Token.HalfdayText ->
                let i, len = matchText s pos [| "AM"; "PM" |]
                if i < 0 then ok <- false else pm <- i; pos <- pos + len
            | Token.EraText ->
                let i, len = matchText s pos [| "BC"; "AD" |]
                if i < 0 then ok <- false else negativeEra <- (i = 0); pos <- pos + len
            | Token.Offset _ ->
                if pos < n && (s.[pos] = 'Z' || s.[pos] = 'z') then
                    offset <- ValueSome 0L
                    pos <- pos + 1
                elif pos < n && (s.[pos] = '+' || s.[pos] = '-') then
                    let sign = if s.[pos] = '-' then -1L else 1L
                    pos <- pos + 1
                    match readDigits 2 false with
                    | ValueNone -> ok <- false
                    | ValueSome hh ->
                        if pos < n && s.[pos] = ':' then pos <- pos + 1
                        let mm = match readDigits 2 false with ValueSome m -> m | ValueNone -> 0L
                        if hh > 23L || mm > 59L then ok <- false
                        else offset <- ValueSome(sign * (hh * 3_600_000L + mm * 60_000L))
                else ok <- false
            | Token.ZoneId ->
                let ids = zoneIdsLongestFirst.Force()
                match ids |> Array.tryFind (fun id -> pos + id.Length <= n && String.CompareOrdinal(s, pos, id, 0, id.Length) = 0) with
                | Some id ->
                    parsedZone <- DateTimeZoneProviders.Tzdb.[id]
                    pos <- pos + id.Length
                | None -> ok <- false
            | Token.ZoneName -> ok <- false // Joda cannot parse zone names either
            t <- t + 1
        if not ok || pos <> n then None
        else
            let year = if negativeEra then 1 - year else year
            if dayOfYear > 0 then
                // day-of-year is applied after the year, replacing month and day
                let leap = daysInMonth year 2 = 29
                if dayOfYear > (if leap then 366 else 365) then ok <- false
                else
                    let mutable d = dayOfYear
                    let mutable m = 1
                    while d > daysInMonth year m do
                        d <- d - daysInMonth year m
                        m <- m + 1
                    month <- m
                    day <- d
            if day > daysInMonth year month then None
            elif not ok then None
            else
                let hour =
                    if hourOfHalf >= 0 then hourOfHalf + (if pm = 1 then 12 else 0)
                    elif pm = 1 && hourOfDay < 12 then hourOfDay + 12
                    elif pm = 0 && hourOfDay >= 12 then hourOfDay - 12
                    else hourOfDay
                let mutable local = Time.utcMillis (int64 year) month day hour minute second millis
                if dayOfWeek > 0 then
                    // Joda sets the day of week within the same Monday-based week
                    let days = Math.Floor(float local / 86_400_000.0) |> int64
                    let isoDow = int (((days % 7L) + 7L + 3L) % 7L) + 1
                    local <- local + int64 (dayOfWeek - isoDow) * 86_400_000L
                match offset with
                | ValueSome off -> Some(local - off)
                | ValueNone ->
                    let z = if isNull parsedZone then zone else parsedZone
                    if Time.isUtc z then Some local
                    else
                        try
                            let days = Math.Floor(float local / 86_400_000.0) |> int64
                            let ldt = LocalDateTime(1970, 1, 1, 0, 0).PlusDays(int days).PlusMilliseconds(local - days * 86_400_000L)
                            let mapping = z.MapLocal ldt
                            if mapping.Count = 0 then None // inside a daylight-saving gap: Joda rejects it
                            else Some(mapping.First().ToInstant().ToUnixTimeMilliseconds())
                        with _ -> None

    let private pad (sb: StringBuilder) (v: int64) (width: int) =
        if v < 0L then sb.Append('-') |> ignore
        let digits = (abs v).ToString(CultureInfo.InvariantCulture)
        if digits.Length < width then sb.Append('0', width - digits.Length) |> ignore
        sb.Append(digits) |> ignore

    let private appendOffset (sb: StringBuilder) (offMillis: int64) (colon: bool) =
        let a = abs offMillis
        sb.Append(if offMillis < 0L then '-' else '+') |> ignore
        pad sb (a / 3_600_000L) 2
        if colon then sb.Append(':') |> ignore
        pad sb (a / 60_000L % 60L) 2

    /// Prints an instant in `zone` with the pattern.
    let formatWith (pattern: Pattern) (zone: DateTimeZone) (t: int64) : string =
        let zoned = Instant.FromUnixTimeMilliseconds(t).InZone(zone)
        let ldt = zoned.LocalDateTime
        let off = int64 zoned.Offset.Milliseconds
        let sb = StringBuilder(pattern.Text.Length + 8)
        for token in pattern.Tokens do
            match token with
            | Token.Literal lit -> sb.Append(lit) |> ignore
            | Token.Number(field, minDigits, _) ->
                let v =
                    match field with
                    | NumericField.Year -> ldt.Year
                    | NumericField.Month -> ldt.Month
                    | NumericField.DayOfMonth -> ldt.Day
                    | NumericField.DayOfYear -> ldt.DayOfYear
                    | NumericField.DayOfWeek -> int ldt.DayOfWeek
                    | NumericField.HourOfDay -> ldt.Hour
                    | NumericField.ClockHourOfDay -> if ldt.Hour = 0 then 24 else ldt.Hour
                    | NumericField.HourOfHalfday -> ldt.Hour % 12
                    | NumericField.ClockHourOfHalfday -> if ldt.Hour % 12 = 0 then 12 else ldt.Hour % 12
                    | NumericField.Minute -> ldt.Minute
                    | NumericField.Second -> ldt.Second
                pad sb (int64 v) minDigits
            | Token.TwoDigitYear _ -> pad sb (int64 (((ldt.Year % 100) + 100) % 100)) 2
            | Token.Fraction digits ->
                let ms = ldt.Millisecond
                if digits >= 3 then
                    pad sb (int64 ms) 3
                    if digits > 3 then sb.Append('0', digits - 3) |> ignore
                else pad sb (int64 (ms / pown 10 (3 - digits))) digits
            | Token.MonthText longForm ->
                let name = monthNames.[ldt.Month - 1]
                sb.Append(if longForm then name else name.Substring(0, 3)) |> ignore
            | Token.DayOfWeekText longForm ->
                let name = dayNames.[int ldt.DayOfWeek - 1]
                sb.Append(if longForm then name else name.Substring(0, 3)) |> ignore
            | Token.HalfdayText -> sb.Append(if ldt.Hour < 12 then "AM" else "PM") |> ignore
            | Token.EraText -> sb.Append(if ldt.Year <= 0 then "BC" else "AD") |> ignore
            | Token.Offset colon -> appendOffset sb off colon
            | Token.ZoneId ->
                if zone.Id.StartsWith "UTC+" || zone.Id.StartsWith "UTC-" then appendOffset sb off true
                else sb.Append(zone.Id) |> ignore
            | Token.ZoneName -> sb.Append(zone.GetZoneInterval(zoned.ToInstant()).Name) |> ignore
        sb.ToString()

    let tryParse (pattern: string) (zone: DateTimeZone) (text: string) : int64 option =
        match compile pattern with
        | Ok p -> tryParseWith p zone text
        | Error _ -> None

    /// Prints with a pattern; an invalid pattern raises ArgumentException (callers compile first).
    let format (pattern: string) (zone: DateTimeZone) (t: int64) : string =
        match compile pattern with
        | Ok p -> formatWith p zone t
        | Error e -> invalidArg "pattern" e

// ---- the timestampSpec -------------------------------------------------------------------

[<RequireQualifiedAccess>]
type TimestampFormat =
    | Auto
    | Iso
    | Millis
    | Posix
    | Micro
    | Nano
    | Ruby
    | Joda of JodaPattern.Pattern

type TimestampSpec =
    { Column: string
      Format: TimestampFormat
      /// Used only when the column is missing or null, never for unparseable values (as Druid).
      MissingValue: int64 option }

let defaultColumn = "timestamp"
let defaultSpec = { Column = defaultColumn; Format = TimestampFormat.Auto; MissingValue = None }

/// The name the format was given as, for printing a spec back.
let formatName (f: TimestampFormat) =
    match f with
    | TimestampFormat.Auto -> "auto"
    | TimestampFormat.Iso -> "iso"
    | TimestampFormat.Millis -> "millis"
    | TimestampFormat.Posix -> "posix"
    | TimestampFormat.Micro -> "micro"
    | TimestampFormat.Nano -> "nano"
    | TimestampFormat.Ruby -> "ruby"
    | TimestampFormat.Joda p -> p.Text

let tryParseFormat (text: string) : Result<TimestampFormat, string> =
    match (if isNull text then "auto" else text.ToLowerInvariant()) with
    | "auto" -> Ok TimestampFormat.Auto
    | "iso" -> Ok TimestampFormat.Iso
    | "millis" -> Ok TimestampFormat.Millis
    | "posix" -> Ok TimestampFormat.Posix
    | "micro" -> Ok TimestampFormat.Micro
    | "nano" -> Ok TimestampFormat.Nano
    | "ruby" -> Ok TimestampFormat.Ruby
    | _ ->
        match JodaPattern.compile text with
        | Ok p -> Ok(TimestampFormat.Joda p)
        | Error _ -> Error(sprintf "Unable to parse timestamps with format [%s]" text)

/// `{"column": ..., "format": ..., "missingValue": ...}` with Druid's defaults.
let parse (node: Json.Node) : TimestampSpec =
    let node = Json.expectObject node
    let column = Json.stringOr node "column" defaultColumn
    let format =
        match Json.tryField node "format" with
        | None -> TimestampFormat.Auto
        | Some f ->
            match tryParseFormat (Json.asString f) with
            | Ok fmt -> fmt
            | Error e -> Json.fail f e
    let missing =
        Json.tryField node "missingValue"
        |> Option.map (fun m ->
            match Json.kind m with
            | System.Text.Json.JsonValueKind.Number -> Json.asInt64 m
            | _ ->
                match Time.tryParseInstant (Json.asString m) with
                | Some t -> t
                | None -> Json.fail m (sprintf "Invalid format: \"%s\"" (Json.asString m)))
    { Column = column; Format = format; MissingValue = missing }

/// How Java prints the object Druid holds for a value (`toString`), used in error messages.
let rec javaString (v: Value) : string =
    match v with
    | Value.Null -> "null"
    | Value.String s -> s
    | Value.Long l -> l.ToString(CultureInfo.InvariantCulture)
    | Value.Double d -> Value.javaDoubleString d
    | Value.Array xs -> "[" + String.Join(", ", xs |> Array.map javaString) + "]"

/// Druid's ParserUtils.stripQuotes: trim, then drop one pair of surrounding double quotes.
let private stripQuotes (s: string) =
    let t = s.Trim()
    if t.Length >= 2 && t.[0] = '"' && t.[t.Length - 1] = '"' then t.Substring(1, t.Length - 2).Trim() else t

/// Java's Long.parseLong: optional sign, digits only.
let private parseJavaLong (s: string) : int64 voption =
    match Int64.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
    | true, v -> ValueSome v
    | _ -> ValueNone

let private saturatingMul (v: int64) (k: int64) =
    if v > Int64.MaxValue / k then Int64.MaxValue
    elif v < Int64.MinValue / k then Int64.MinValue
    else v * k

let private fromLong (f: TimestampFormat) (v: int64) : int64 =
    match f with
    | TimestampFormat.Posix -> saturatingMul v 1000L
    | TimestampFormat.Micro -> v / 1000L
    | TimestampFormat.Nano -> v / 1_000_000L
    | TimestampFormat.Ruby -> saturatingMul v 1000L
    | _ -> v

let private truncateToLong (d: float) =
    if Double.IsNaN d then 0L
    elif d >= 9.223372036854775807e18 then Int64.MaxValue
    elif d <= -9.223372036854775808e18 then Int64.MinValue
    else int64 d

/// Druid's auto parser: an all-digit string is epoch millis; anything else is lenient ISO,
/// where a trailing ` <zone id>` is accepted but (as in Druid) does not move the instant.
let private parseAuto (input: string) : int64 option =
    if input.Length = 0 then None
    else
        let mutable allDigits = true
        for c in input do
            if c < '0' || c > '9' then allDigits <- false
        if allDigits then
            match parseJavaLong input with
            | ValueSome v -> Some v
            | ValueNone -> None
        else
            let s = stripQuotes input
            let s =
                let space = s.LastIndexOf ' '
                if space > 0 && not (isNull (DateTimeZoneProviders.Tzdb.GetZoneOrNull(s.Substring(space + 1)))) then s.Substring(0, space)
                else s
            Time.tryParseInstant s

let private parseText (f: TimestampFormat) (input: string) : int64 option =
    if String.IsNullOrEmpty input then None
    else
        match f with
        | TimestampFormat.Auto -> parseAuto input
        | TimestampFormat.Iso ->
            let s = stripQuotes input
            if s.IndexOf ' ' >= 0 then None else Time.tryParseInstant s
        | TimestampFormat.Millis | TimestampFormat.Posix | TimestampFormat.Micro | TimestampFormat.Nano ->
            match parseJavaLong (stripQuotes input) with
            | ValueSome v -> Some(fromLong f v)
            | ValueNone -> None
        | TimestampFormat.Ruby ->
            match Double.TryParse(stripQuotes input, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, d -> Some(truncateToLong (d * 1000.0))
            | _ -> None
        | TimestampFormat.Joda p -> JodaPattern.tryParseWith p DateTimeZone.Utc (stripQuotes input)

/// Reads a non-null timestamp value: numbers go straight to the numeric formats, everything
/// else is read from its Java string form, as Druid's TimestampParser does.
let tryParseValue (f: TimestampFormat) (v: Value) : int64 option =
    let numericFormat = match f with TimestampFormat.Iso | TimestampFormat.Joda _ -> false | _ -> true
    match v with
    | Value.Null -> None
    | Value.Long l when numericFormat -> Some(fromLong f l)
    | Value.Double d when numericFormat ->
        match f with
        | TimestampFormat.Ruby -> Some(truncateToLong (d * 1000.0))
        | _ -> Some(fromLong f (truncateToLong d))
    | other -> parseText f (javaString other)

/// Druid's message for a row whose timestamp cannot be read.
let unparseableMessage (raw: Value) (eventText: string) =
    sprintf "Timestamp[%s] is unparseable! Event: %s" (javaString raw) eventText

/// Druid prints at most 100 characters of the event.
let truncateEvent (eventText: string) =
    if eventText.Length < 100 then eventText else eventText.Substring(0, 100) + "..."

/// The row time from the timestamp column's value; `eventText` renders the whole row for the
/// error message only when it is needed.
let extractWith (spec: TimestampSpec) (v: Value) (eventText: unit -> string) : Result<int64, string> =
    match v with
    | Value.Null ->
        match spec.MissingValue with
        | Some t -> Ok t
        | None -> Error(unparseableMessage v (truncateEvent (eventText ())))
    | _ ->
        match tryParseValue spec.Format v with
        | Some t when t >= Time.minInstant && t < Time.maxInstant -> Ok t
        | Some t ->
            let ev = truncateEvent (eventText ())
            Error(sprintf "Encountered row with timestamp[%s] that cannot be represented as a long: [%s]" (Time.formatIso t) ev)
        | None -> Error(unparseableMessage v (truncateEvent (eventText ())))

/// `extractWith` for a lone value: the event is shown as `{column=value}`.
let extract (spec: TimestampSpec) (v: Value) : Result<int64, string> =
    extractWith spec v (fun () -> "{" + spec.Column + "=" + javaString v + "}")
