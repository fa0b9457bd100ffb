/// Joda-Time `DateTimeFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZZ`, `dd/MMM/yyyy:HH:mm:ss Z`,
/// `EEE, d MMM yyyy hh:mm a`), which Druid users write in timestampSpecs and in the
/// timestamp_parse / timestamp_format expression functions. English month and day names.
module FunctionalDruid.Core.JodaFormat

open System
open System.Globalization
open System.Text
open NodaTime
open NodaTime.Calendars

/// One element of a compiled pattern: literal text or a field letter repeated `Count` times.
[<Struct>]
type PatternToken =
    | Text of text: string
    | Field of letter: char * count: int

/// A validated pattern, compiled once and reused for every row.
type Pattern = { Source: string; Tokens: PatternToken[] }

let private knownLetters = "GCYxwweEyDMdaKhHkmsSzZ"

/// Splits a Joda pattern into tokens; unknown letters are rejected as Joda rejects them.
let compile (pattern: string) : Result<Pattern, string> =
    if isNull pattern || pattern = "" then Error "Invalid format: the pattern is empty"
    else
    let tokens = ResizeArray<PatternToken>()
    let literal = StringBuilder()
    let flush () =
        if literal.Length > 0 then
            tokens.Add(Text(literal.ToString()))
            literal.Clear() |> ignore
    let mutable error = None
    let mutable i = 0
    let n = pattern.Length
    while error.IsNone && i < n do
        let c = pattern.[i]
        if c = '\'' then
            if i + 1 < n && pattern.[i + 1] = '\'' then
                literal.Append('\'') |> ignore
                i <- i + 2
            else
                // Quoted text runs to the next lone quote; '' inside it is a quote.
                let mutable j = i + 1
                let mutable closed = false
                while not closed && j < n do
                    if pattern.[j] = '\'' then
                        if j + 1 < n && pattern.[j + 1] = '\'' then
                            literal.Append('\'') |> ignore
                            j <- j + 2
                        else
                            closed <- true
                            j <- j + 1
                    else
                        literal.Append(pattern.[j]) |> ignore
                        j <- j + 1
                if not closed then error <- Some(sprintf "Illegal pattern: unterminated quote in \"%s\"" pattern)
                i <- j
        elif (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') then
            if knownLetters.IndexOf c < 0 then error <- Some(sprintf "Illegal pattern component: %c" c)
            else
                let mutable j = i
                while j < n && pattern.[j] = c do
                    j <- j + 1
                flush ()
                tokens.Add(Field(c, j - i))
                i <- j
        else
            literal.Append(c) |> ignore
            i <- i + 1
    flush ()
    match error with
    | Some e -> Error e
    | None -> Ok { Source = pattern; Tokens = tokens.ToArray() }

let private shortMonths = [| "Jan"; "Feb"; "Mar"; "Apr"; "May"; "Jun"; "Jul"; "Aug"; "Sep"; "Oct"; "Nov"; "Dec" |]
let private longMonths =
    [| "January"; "February"; "March"; "April"; "May"; "June"; "July"; "August"; "September"; "October"; "November"; "December" |]
let private shortDays = [| "Mon"; "Tue"; "Wed"; "Thu"; "Fri"; "Sat"; "Sun" |]
let private longDays = [| "Monday"; "Tuesday"; "Wednesday"; "Thursday"; "Friday"; "Saturday"; "Sunday" |]

let private minMillis = Instant.MinValue.ToUnixTimeMilliseconds()
let private maxMillis = Instant.MaxValue.ToUnixTimeMilliseconds()

let private appendPadded (sb: StringBuilder) (value: int64) (width: int) =
    if value < 0L then sb.Append('-') |> ignore
    let digits = (abs value).ToString(CultureInfo.InvariantCulture)
    if digits.Length < width then sb.Append('0', width - digits.Length) |> ignore
    sb.Append(digits) |> ignore

let private appendOffset (sb: StringBuilder) (offsetMs: int64) (colon: bool) =
    let a = abs offsetMs
    sb.Append(if offsetMs < 0L then '-' else '+') |> ignore
    appendPadded sb (a / 3_600_000L) 2
    if colon then sb.Append(':') |> ignore
    appendPadded sb (a / 60_000L % 60L) 2

/// Formats an instant in a zone; null when the instant is outside the representable calendar.
let formatWith (p: Pattern) (zone: DateTimeZone) (millis: int64) : string =
    if millis < minMillis || millis > maxMillis then null
    else
    let instant = Instant.FromUnixTimeMilliseconds millis
    let zoned = instant.InZone zone
    let local = zoned.LocalDateTime
    let offsetMs = int64 zoned.Offset.Milliseconds
    let sb = StringBuilder(p.Source.Length + 8)
    for token in p.Tokens do
        match token with
        | Text t -> sb.Append(t) |> ignore
        | Field(letter, count) ->
            let year = int64 local.Year
            match letter with
            | 'G' -> sb.Append(if year > 0L then "AD" else "BC") |> ignore
            | 'C' -> appendPadded sb ((if year > 0L then year else 1L - year) / 100L) count
            | 'y' | 'Y' | 'x' ->
                let y =
                    match letter with
                    | 'Y' -> if year > 0L then year else 1L - year
                    | 'x' -> int64 (WeekYearRules.Iso.GetWeekYear local.Date)
                    | _ -> year
                if count = 2 then appendPadded sb (((y % 100L) + 100L) % 100L) 2 else appendPadded sb y count
            | 'w' -> appendPadded sb (int64 (WeekYearRules.Iso.GetWeekOfWeekYear local.Date)) count
            | 'e' -> appendPadded sb (int64 (int local.DayOfWeek)) count
            | 'E' ->
                let d = int local.DayOfWeek - 1
                sb.Append(if count >= 4 then longDays.[d] else shortDays.[d]) |> ignore
            | 'D' -> appendPadded sb (int64 local.DayOfYear) count
            | 'M' ->
                if count >= 4 then sb.Append(longMonths.[local.Month - 1]) |> ignore
                elif count = 3 then sb.Append(shortMonths.[local.Month - 1]) |> ignore
                else appendPadded sb (int64 local.Month) count
            | 'd' -> appendPadded sb (int64 local.Day) count
            | 'a' -> sb.Append(if local.Hour < 12 then "AM" else "PM") |> ignore
            | 'K' -> appendPadded sb (int64 (local.Hour % 12)) count
            | 'h' -> appendPadded sb (int64 (if local.Hour % 12 = 0 then 12 else local.Hour % 12)) count
            | 'H' -> appendPadded sb (int64 local.Hour) count
            | 'k' -> appendPadded sb (int64 (if local.Hour = 0 then 24 else local.Hour)) count
            | 'm' -> appendPadded sb (int64 local.Minute) count
            | 's' -> appendPadded sb (int64 local.Second) count
            | 'S' ->
                let ms = local.Millisecond.ToString("000", CultureInfo.InvariantCulture)
                if count <= 3 then sb.Append(ms, 0, count) |> ignore
                else sb.Append(ms).Append('0', count - 3) |> ignore
            | 'z' ->
                if count >= 4 then sb.Append(zone.Id) |> ignore
                else
                    let name = zone.GetZoneInterval(instant).Name
                    sb.Append(if String.IsNullOrEmpty name then zone.Id else name) |> ignore
            | 'Z' ->
                if count >= 3 then sb.Append(zone.Id) |> ignore
                else appendOffset sb offsetMs (count = 2)
            | _ -> ()
    sb.ToString()

let private isNumericField (t: PatternToken) =
    match t with
    | Field(c, n) -> (c = 'M' && n < 3) || "CYxwyDdKhHkmsSe".IndexOf c >= 0
    | Text _ -> false

let private matchName (text: string) (pos: int) (names: string[]) : (int * int) option =
    // Longest match wins so that "June" is not read as "Jun" followed by "e".
    names
    |> Array.mapi (fun i name -> i, name)
    |> Array.filter (fun (_, name) ->
        pos + name.Length <= text.Length && String.Compare(text, pos, name, 0, name.Length, StringComparison.OrdinalIgnoreCase) = 0)
    |> Array.sortByDescending (fun (_, name) -> name.Length)
    |> Array.tryHead
    |> Option.map (fun (i, name) -> i, name.Length)

/// Parses the whole text with a pattern; fields the pattern lacks default to 1970-01-01T00:00
/// and a text without an offset is read in `zone`.
let parseWith (p: Pattern) (zone: DateTimeZone) (text: string) : int64 option =
    if isNull text then None
    else
    let n = text.Length
    let mutable pos = 0
    let mutable ok = true
    let mutable year = 1970L
    let mutable yearOfEra = None
    let mutable bc = false
    let mutable month, day, hour, minute, second, millis = 1, 1, 0, 0, 0, 0
    let mutable dayOfYear = None
    let mutable hourOfHalf = None
    let mutable pm = None
    let mutable offset : int64 option = None
    let mutable parsedZone : DateTimeZone option = None
    let readNumber (maxDigits: int) (signed: bool) =
        let start = pos
        let negative = signed && pos < n && (text.[pos] = '-' || text.[pos] = '+') && (let neg = text.[pos] = '-' in pos <- pos + 1; neg)
        let digitsStart = pos
        while pos < n && pos - digitsStart < maxDigits && Char.IsAsciiDigit text.[pos] do
            pos <- pos + 1
        if pos = digitsStart then
            pos <- start
            ok <- false
            0L
        else
            let v = Int64.Parse(text.AsSpan(digitsStart, pos - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture)
            if negative then -v else v
    for ti in 0 .. p.Tokens.Length - 1 do
        if ok then
            let token = p.Tokens.[ti]
            // Adjacent numeric fields (yyyyMMdd) are read with their exact widths.
            let fixedWidth = ti + 1 < p.Tokens.Length && isNumericField p.Tokens.[ti + 1]
            match token with
            | Text t ->
                if pos + t.Length <= n && String.CompareOrdinal(text, pos, t, 0, t.Length) = 0 then pos <- pos + t.Length
                else ok <- false
            | Field(letter, count) ->
                let width dflt = if fixedWidth then count else max count dflt
                match letter with
                | 'G' ->
                    match matchName text pos [| "AD"; "BC"; "CE"; "BCE" |] with
                    | Some(i, len) -> bc <- (i = 1 || i = 3); pos <- pos + len
                    | None -> ok <- false
                | 'y' | 'x' ->
                    let start = pos
                    let v = readNumber (width 9) (not fixedWidth)
                    // Joda reads a two-digit `yy` as a year in the century around 2000.
                    year <- if count = 2 && pos - start = 2 then (if v < 50L then 2000L + v else 1900L + v) else v
                | 'Y' -> yearOfEra <- Some(readNumber (width 9) false)
                | 'C' -> ignore (readNumber (width 7) false)
                | 'w' | 'e' -> ignore (readNumber (width 2) false)
                | 'E' ->
                    match matchName text pos (Array.append longDays shortDays) with
                    | Some(_, len) -> pos <- pos + len
                    | None -> ok <- false
                | 'D' -> dayOfYear <- Some(int (readNumber (width 3) false))
                | 'M' when count >= 3 ->
                    match matchName text pos (Array.append longMonths shortMonths) with
                    | Some(i, len) -> month <- i % 12 + 1; pos <- pos + len
                    | None -> ok <- false
                | 'M' -> month <- int (readNumber (width 2) false)
                | 'd' -> day <- int (readNumber (width 2) false)
                | 'a' ->
                    match matchName text pos [| "AM"; "PM" |] with
                    | Some(i, len) -> pm <- Some(i = 1); pos <- pos + len
                    | None -> ok <- false
                | 'K' | 'h' -> hourOfHalf <- Some(int (readNumber (width 2) false) % 12)
                | 'H' -> hour <- int (readNumber (width 2) false)
                | 'k' -> hour <- int (readNumber (width 2) false) % 24
                | 'm' -> minute <- int (readNumber (width 2) false)
                | 's' -> second <- int (readNumber (width 2) false)
                | 'S' ->
                    let start = pos
                    let v = readNumber (width 9) false
                    let digits = pos - start
                    if ok then millis <- int (if digits >= 3 then v / pown 10L (digits - 3) else v * pown 10L (3 - digits))
                | 'Z' when count >= 3 ->
                    let start = pos
                    while pos < n && (Char.IsLetterOrDigit text.[pos] || text.[pos] = '/' || text.[pos] = '_' || text.[pos] = '-' || text.[pos] = '+') do
                        pos <- pos + 1
                    match Time.tryParseZone (text.Substring(start, pos - start)) with
                    | Some z -> parsedZone <- Some z
                    | None -> ok <- false
                | 'Z' | 'z' ->
                    if pos < n && (text.[pos] = 'Z' || text.[pos] = 'z') && letter = 'Z' then
                        pos <- pos + 1
                        offset <- Some 0L
                    elif pos < n && (text.[pos] = '+' || text.[pos] = '-') then
                        let sign = if text.[pos] = '-' then -1L else 1L
                        pos <- pos + 1
                        let hh = readNumber 2 false
                        if pos < n && text.[pos] = ':' then pos <- pos + 1
                        let mm = if pos < n && Char.IsAsciiDigit text.[pos] then readNumber 2 false else 0L
                        offset <- Some(sign * (hh * 3_600_000L + mm * 60_000L))
                    else
                        let start = pos
                        while pos < n && (Char.IsLetter text.[pos] || text.[pos] = '/' || text.[pos] = '_') do
                            pos <- pos + 1
                        match Time.tryParseZone (text.Substring(start, pos - start)) with
                        | Some z -> parsedZone <- Some z
                        | None -> ok <- false
                | _ -> ok <- false
    if not ok || pos <> n then None
    else
        let year =
            match yearOfEra with
            | Some y -> if bc then 1L - y else y
            | None -> if bc then 1L - year else year
        let hour =
            match hourOfHalf, pm with
            | Some h, Some true -> h + 12
            | Some h, _ -> h
            | None, Some true when hour < 12 -> hour + 12
            | None, _ -> hour
        try
            let date =
                match dayOfYear with
                | Some d -> LocalDate(int year, 1, 1).PlusDays(d - 1)
                | None -> LocalDate(int year, month, day)
            if hour > 23 || minute > 59 || second > 59 then None
            else
                let ldt = date + LocalTime(hour, minute, second, millis)
                match offset with
                | Some off -> Some(ldt.InUtc().ToInstant().ToUnixTimeMilliseconds() - off)
                | None ->
                    let z = defaultArg parsedZone zone
                    Some((z.AtLeniently ldt).ToInstant().ToUnixTimeMilliseconds())
        with :? ArgumentOutOfRangeException -> None

/// Parses `text` with a Joda pattern in `zone`; None when the pattern is invalid or the text
/// does not match it.
let tryParse (pattern: string) (zone: DateTimeZone) (text: string) : int64 option =
    match compile pattern with
    | Ok p -> parseWith p zone text
    | Error _ -> None

/// Formats `millis` with a Joda pattern in `zone`; null when the pattern is invalid (validate
/// patterns from specs with `compile` first to report the problem).
let format (pattern: string) (zone: DateTimeZone) (millis: int64) : string =
    match compile pattern with
    | Ok p -> formatWith p zone millis
    | Error _ -> null
