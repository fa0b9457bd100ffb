/// Druid SQL text → syntax tree, with FParsec and no separate lexer. Errors carry the line and
/// column of the offending token and the tokens that would have been accepted there, in the
/// words Druid uses: `Received an unexpected token [FROM] (line [1], column [8]), ...`.
module FunctionalDruid.Sql.Parser

open System
open FParsec
open FunctionalDruid.Sql.Ast

/// The user state counts dynamic parameters so each `?` gets its position among them.
type private P<'T> = Parser<'T, int>

type ParseError =
    { Line: int64
      Column: int64
      /// The token at the error position, or `<EOF>`.
      Token: string
      Expected: string list
      Message: string }

let private isIdStart (c: char) = Char.IsLetter c || c = '_'
let private isIdChar (c: char) = Char.IsLetterOrDigit c || c = '_' || c = '$'

let private comment: P<unit> =
    (skipString "--" >>. skipRestOfLine true)
    <|> (skipString "/*" >>. skipCharsTillString "*/" true Int32.MaxValue)

let private ws: P<unit> = skipMany ((skipMany1 (anyOf " \t\r\n\f")) <|> comment)

let private word: P<string> = many1Satisfy2L isIdStart isIdChar "identifier"

/// A keyword, case-insensitive, not followed by more identifier characters.
let private kw (s: string) : P<unit> =
    attempt (skipStringCI s >>. notFollowedBy (satisfy isIdChar)) >>. ws <?> s

let private kws (words: string list) : P<unit> = words |> List.map kw |> List.reduce (>>.)

let private sym (s: string) : P<unit> = skipString s >>. ws <?> ("\"" + s + "\"")

let private quotedIdent: P<string> =
    between (skipChar '"') (skipChar '"' >>. ws) (manyChars (noneOf "\"" <|> (attempt (skipString "\"\"") >>% '"')))
    <?> "quoted identifier"

let private unquotedIdent: P<string> =
    attempt (word >>= fun w -> if reservedWords.Contains(w.ToUpperInvariant()) then fail "reserved word" else preturn w) .>> ws

let private ident: P<string> = quotedIdent <|> unquotedIdent <?> "identifier"

let private stringBody: P<string> =
    between (skipChar '\'') (skipChar '\'') (manyChars (noneOf "'" <|> (attempt (skipString "''") >>% '\'')))
    <?> "string literal"

/// Adjacent string literals concatenate, as in standard SQL.
let private stringLit: P<string> = many1 (stringBody .>> ws) |>> String.concat ""

let private numberLit: P<string> =
    let digits = many1Satisfy isDigit
    let fraction = skipChar '.' >>. manySatisfy isDigit |>> fun d -> "." + d
    let exponent =
        attempt (anyOf "eE" >>. opt (anyOf "+-") .>>. digits |>> fun (s, d) -> "e" + (match s with Some '-' -> "-" | _ -> "") + d)
    let withInt = digits .>>. opt fraction .>>. opt exponent |>> fun ((i, f), e) -> i + defaultArg f "" + defaultArg e ""
    let noInt = attempt (skipChar '.' >>. many1Satisfy isDigit) .>>. opt exponent |>> fun (f, e) -> "0." + f + defaultArg e ""
    (withInt <|> noInt) .>> notFollowedBy (satisfy isIdStart) .>> ws <?> "number"

let private unsignedInt: P<int64> = many1Satisfy isDigit .>> ws |>> int64 <?> "integer"

let private expr, exprRef = createParserForwardedToRef<Expr, int> ()
let private query, queryRef = createParserForwardedToRef<Query, int> ()
let private additiveFwd, additiveRef = createParserForwardedToRef<Expr, int> ()

let private commaList (p: P<'T>) : P<'T list> = sepBy1 p (sym ",")
let private parens (p: P<'T>) : P<'T> = between (sym "(") (sym ")") p

let private startsQuery: P<unit> = followedBy (kw "SELECT" <|> kw "WITH" <|> kw "VALUES")

let private sqlType: P<string> =
    let baseName =
        word .>> ws >>= fun w ->
            let w = w.ToUpperInvariant()
            match w with
            | "DOUBLE" -> opt (kw "PRECISION") >>% "DOUBLE"
            | "CHARACTER" | "CHAR" -> opt (kw "VARYING") |>> fun v -> if v.IsSome then "VARCHAR" else w
            | _ -> preturn w
    let args = opt (parens (commaList unsignedInt))
    let arrayTag = opt (kw "ARRAY")
    pipe3 baseName args arrayTag (fun b a arr ->
        let b = match a with Some xs -> b + "(" + String.Join(", ", xs) + ")" | None -> b
        if arr.IsSome then b + " ARRAY" else b)
    <?> "type name"

let private timeUnit: P<string> =
    attempt (word >>= fun w -> let u = w.ToUpperInvariant() in if timeUnits.Contains u then preturn u else fail "time unit") .>> ws
    <?> "time unit"

let private orderItem: P<OrderItem> =
    pipe3 expr (opt ((kw "ASC" >>% false) <|> (kw "DESC" >>% true))) (opt (kw "NULLS" >>. ((kw "FIRST" >>% true) <|> (kw "LAST" >>% false))))
        (fun e d n -> { Expr = e; Descending = defaultArg d false; NullsFirst = n })

let private frameBound: P<FrameBound> =
    choice
        [ kw "UNBOUNDED" >>. ((kw "PRECEDING" >>% FrameBound.UnboundedPreceding) <|> (kw "FOLLOWING" >>% FrameBound.UnboundedFollowing))
          kws [ "CURRENT"; "ROW" ] >>% FrameBound.CurrentRow
          unsignedInt .>>. ((kw "PRECEDING" >>% true) <|> (kw "FOLLOWING" >>% false))
          |>> fun (n, p) -> if p then FrameBound.Preceding n else FrameBound.Following n ]

let private frame: P<Frame> =
    let kind = (kw "ROWS" >>% true) <|> (kw "RANGE" >>% false)
    let between = kw "BETWEEN" >>. frameBound .>> kw "AND" .>>. frameBound
    let single = frameBound |>> fun b -> b, FrameBound.CurrentRow
    kind .>>. (between <|> single) |>> fun (rows, (lo, hi)) -> { Rows = rows; Lower = lo; Upper = hi }

let private window: P<Window> =
    parens (
        pipe3 (opt (kws [ "PARTITION"; "BY" ] >>. commaList expr)) (opt (kws [ "ORDER"; "BY" ] >>. commaList orderItem)) (opt frame)
            (fun p o f -> { PartitionBy = defaultArg p []; OrderBy = defaultArg o []; Frame = f }))

let private nextParam: P<Expr> = sym "?" >>. getUserState >>= fun n -> setUserState (n + 1) >>% Expr.Param n

let private caseExpr: P<Expr> =
    let whenClause = kw "WHEN" >>. expr .>> kw "THEN" .>>. expr
    kw "CASE" >>. pipe3 (opt (notFollowedBy (kw "WHEN") >>. expr)) (many1 whenClause) (opt (kw "ELSE" >>. expr)) (fun o w e -> Expr.Case(o, w, e))
    .>> kw "END"

let private castExpr: P<Expr> =
    kw "CAST" >>. parens (expr .>> kw "AS" .>>. sqlType) |>> Expr.Cast

let private extractExpr: P<Expr> =
    kw "EXTRACT" >>. parens (timeUnit .>> kw "FROM" .>>. expr) |>> Expr.Extract

let private positionExpr: P<Expr> =
    kw "POSITION" >>. parens (pipe3 (attempt (additiveFwd .>> followedBy (kw "IN"))) (kw "IN" >>. expr) (opt (kw "FROM" >>. expr)) (fun a b c -> Expr.Position(a, b, c)))

let private trimExpr: P<Expr> =
    let where = opt ((kw "BOTH" >>% "BOTH") <|> (kw "LEADING" >>% "LEADING") <|> (kw "TRAILING" >>% "TRAILING"))
    let body =
        where >>= fun w ->
            let side = defaultArg w "BOTH"
            (kw "FROM" >>. expr |>> fun x -> Expr.Trim(side, None, x))
            <|> (expr .>>. opt (kw "FROM" >>. expr)
                 |>> fun (a, b) ->
                     match b with
                     | Some x -> Expr.Trim(side, Some a, x)
                     | None -> Expr.Trim(side, None, a))
    kw "TRIM" >>. parens body

let private floorCeil: P<Expr> =
    let named = attempt ((kw "FLOOR" >>% false) <|> (kw "CEILING" >>% true) <|> (kw "CEIL" >>% true) .>> followedBy (skipChar '('))
    named >>= fun isCeil ->
        parens (expr .>>. opt (kw "TO" >>. timeUnit))
        |>> fun (x, unit) ->
            match unit with
            | Some u -> Expr.FloorTo(isCeil, x, u)
            | None -> Expr.Call((if isCeil then "CEIL" else "FLOOR"), false, [ x ], None, None)

let private substringExpr: P<Expr> =
    let fromFor = pipe3 expr (kw "FROM" >>. expr) (opt (kw "FOR" >>. expr)) (fun s a b -> s :: a :: Option.toList b)
    attempt (kw "SUBSTRING" >>. followedBy (skipChar '(')) >>. parens (attempt fromFor <|> commaList expr)
    |>> fun args -> Expr.Call("SUBSTRING", false, args, None, None)

let private timeUnitFunctions = set [ "TIMESTAMPADD"; "TIMESTAMPDIFF" ]

let private functionCall: P<Expr> =
    let name = attempt (word .>> ws .>> followedBy (skipChar '(')) |>> fun w -> w.ToUpperInvariant()
    name >>= fun fn ->
        let arg = (sym "*" >>% Expr.Star None) <|> expr
        let firstArg =
            if timeUnitFunctions.Contains fn then attempt (timeUnit .>> followedBy (skipChar ',') |>> Expr.Keyword) <|> arg
            else arg
        // JSON_VALUE(x, path RETURNING type) names its result type inside the call.
        let returning = opt (kw "RETURNING" >>. sqlType |>> fun t -> Expr.Keyword("RETURNING " + t))
        let args =
            opt (firstArg .>>. many (sym "," >>. arg)) .>>. returning
            |>> fun (a, r) -> (match a with Some(a, rest) -> a :: rest | None -> []) @ Option.toList r
        // JSON_OBJECT(KEY k VALUE v, ...): the standard pair syntax, as alternating arguments.
        let args =
            if fn <> "JSON_OBJECT" then args
            else
                let pair = attempt (optional (kw "KEY") >>. expr .>> kw "VALUE" .>>. expr) |>> fun (k, v) -> [ k; v ]
                attempt (sepBy1 pair (sym ",") |>> List.concat) <|> args
        let quantifier = opt ((kw "DISTINCT" >>% true) <|> (kw "ALL" >>% false)) |>> Option.defaultValue false
        pipe4 (sym "(" >>. quantifier) (args .>> sym ")") (opt (kw "FILTER" >>. parens (kw "WHERE" >>. expr))) (opt (kw "OVER" >>. window))
            (fun distinct args filter over -> Expr.Call(fn, distinct, args, filter, over))

let private niladic: P<Expr> =
    attempt (word >>= fun w -> let u = w.ToUpperInvariant() in if niladicFunctions.Contains u then preturn u else fail "niladic")
    .>> ws .>> optional (attempt (sym "(" >>. sym ")"))
    |>> fun n -> Expr.Call(n, false, [], None, None)

let private literal: P<Expr> =
    choice
        [ numberLit |>> (Literal.Number >> Expr.Literal)
          stringLit |>> (Literal.String >> Expr.Literal)
          attempt (kw "TIMESTAMP" >>. stringLit) |>> (Literal.Timestamp >> Expr.Literal)
          attempt (kw "DATE" >>. stringLit) |>> (Literal.Date >> Expr.Literal)
          kw "INTERVAL" >>. pipe3 (opt (sym "-")) ((stringLit <|> (numberLit)))
              (timeUnit .>>. opt (kw "TO" >>. timeUnit))
              (fun neg text (u, toU) ->
                  let text = if neg.IsSome then "-" + text else text
                  Expr.Literal(Literal.Interval(text, (match toU with Some t -> u + " TO " + t | None -> u))))
          kw "TRUE" >>% Expr.Literal(Literal.Bool true)
          kw "FALSE" >>% Expr.Literal(Literal.Bool false)
          kw "NULL" >>% Expr.Literal Literal.Null
          kw "UNKNOWN" >>% Expr.Literal Literal.Null ]

let private columnRef: P<Expr> =
    ident .>>. opt (attempt (skipChar '.' >>. ws >>. ident)) |>> fun (a, b) ->
        match b with
        | Some name -> Expr.Column(Some a, name)
        | None -> Expr.Column(None, a)

let private primary: P<Expr> =
    choice
        [ attempt (sym "(" >>. startsQuery) >>. query .>> sym ")" |>> Expr.ScalarQuery
          parens expr
          literal
          nextParam
          caseExpr
          castExpr
          extractExpr
          positionExpr
          trimExpr
          floorCeil
          substringExpr
          kw "EXISTS" >>. parens query |>> Expr.Exists
          attempt (kw "ARRAY" >>. followedBy (skipChar '[')) >>. between (sym "[") (sym "]") (sepBy expr (sym ",")) |>> Expr.Array
          niladic
          functionCall
          columnRef ]
    <?> "expression"

let private unary, unaryRef = createParserForwardedToRef<Expr, int> ()

do unaryRef.Value <- (sym "-" >>. unary |>> Expr.Negate) <|> (sym "+" >>. unary) <|> primary

let private leftAssoc (operand: P<Expr>) (ops: P<BinaryOp>) : P<Expr> =
    operand .>>. many (ops .>>. operand) |>> fun (first, rest) -> rest |> List.fold (fun acc (op, r) -> Expr.Binary(op, acc, r)) first

let private multiplicative =
    leftAssoc unary (choice [ sym "*" >>% BinaryOp.Mul; sym "/" >>% BinaryOp.Div; sym "%" >>% BinaryOp.Mod ])

let private additive =
    leftAssoc multiplicative (choice [ sym "+" >>% BinaryOp.Add; attempt (sym "-" .>> notFollowedBy (skipChar '-')) >>% BinaryOp.Sub; sym "||" >>% BinaryOp.Concat ])

do additiveRef.Value <- additive

let private comparisonOp: P<BinaryOp> =
    choice
        [ sym "<>" >>% BinaryOp.Ne
          sym "!=" >>% BinaryOp.Ne
          sym "<=" >>% BinaryOp.Le
          sym ">=" >>% BinaryOp.Ge
          sym "<" >>% BinaryOp.Lt
          sym ">" >>% BinaryOp.Gt
          sym "=" >>% BinaryOp.Eq ]

/// One postfix predicate applied to an operand: comparisons, IS, IN, BETWEEN, LIKE.
let private predicateTail (left: Expr) : P<Expr> =
    let isTail =
        kw "IS" >>. opt (kw "NOT") .>>. choice [ kw "NULL" >>% 0; kw "TRUE" >>% 1; kw "FALSE" >>% 2; kw "UNKNOWN" >>% 0; kws [ "DISTINCT"; "FROM" ] >>% 3 ]
        >>= fun (neg, what) ->
            let negated = neg.IsSome
            match what with
            | 0 -> preturn (Expr.IsNull(left, negated))
            | 1 -> preturn (Expr.IsBool(left, true, negated))
            | 2 -> preturn (Expr.IsBool(left, false, negated))
            | _ -> additive |>> fun r -> Expr.IsDistinctFrom(left, r, negated)
    let negatable =
        opt (kw "NOT") >>= fun neg ->
            let negated = neg.IsSome
            choice
                [ kw "IN" >>. sym "(" >>. ((startsQuery >>. query |>> fun q -> Expr.InQuery(left, q, negated)) <|> (commaList expr |>> fun xs -> Expr.InList(left, xs, negated))) .>> sym ")"
                  kw "BETWEEN" >>. optional (kw "ASYMMETRIC") >>. additive .>> kw "AND" .>>. additive |>> fun (lo, hi) -> Expr.Between(left, lo, hi, negated)
                  kw "LIKE" >>. additive .>>. opt (kw "ESCAPE" >>. additive) |>> fun (p, e) -> Expr.Like(left, p, e, negated) ]
    choice [ comparisonOp .>>. additive |>> (fun (op, r) -> Expr.Binary(op, left, r)); isTail; negatable ]

let private predicate: P<Expr> =
    let rec loop (left: Expr) : P<Expr> = (predicateTail left >>= loop) <|> preturn left
    additive >>= loop

let private notExpr, notRef = createParserForwardedToRef<Expr, int> ()

do notRef.Value <- (kw "NOT" >>. notExpr |>> Expr.Not) <|> predicate

let private andExpr = leftAssoc notExpr (kw "AND" >>% BinaryOp.And)
let private orExpr = leftAssoc andExpr (kw "OR" >>% BinaryOp.Or)

do exprRef.Value <- orExpr

// ---- queries ---------------------------------------------------------------------------------

let private alias: P<string option> = opt ((kw "AS" >>. ident) <|> unquotedIdent <|> quotedIdent)

let private aliasWithColumns: P<string option * string list> =
    alias >>= fun a ->
        match a with
        | Some _ -> opt (parens (commaList ident)) |>> fun cols -> a, defaultArg cols []
        | None -> preturn (None, [])

let private selectItem: P<SelectItem> =
    choice
        [ sym "*" >>% AllColumns None
          attempt (ident .>> skipChar '.' .>> ws .>> sym "*") |>> (Some >> AllColumns)
          expr .>>. alias |>> Item ]

let private tableRef, tableRefRef = createParserForwardedToRef<TableRef, int> ()

let private tablePrimary: P<TableRef> =
    choice
        [ attempt (sym "(" >>. startsQuery) >>. query .>> sym ")" .>>. aliasWithColumns |>> fun (q, (a, cols)) -> Derived(q, a, cols)
          parens tableRef
          kw "UNNEST" >>. parens expr .>>. aliasWithColumns |>> fun (e, (a, cols)) -> Unnest(e, a, cols)
          ident .>>. opt (attempt (skipChar '.' >>. ws >>. ident)) .>>. alias
          |>> fun ((a, b), al) ->
              match b with
              | Some name -> Table(Some a, name, al)
              | None -> Table(None, a, al) ]

let private joinTail: P<JoinKind * TableRef * Expr option> =
    let on = opt (kw "ON" >>. expr)
    choice
        [ sym "," >>. tablePrimary |>> fun t -> Cross, t, None
          kws [ "CROSS"; "JOIN" ] >>. tablePrimary |>> fun t -> Cross, t, None
          (opt (kw "INNER") >>. kw "JOIN" >>% Inner
           <|> (kw "LEFT" >>. optional (kw "OUTER") >>. kw "JOIN" >>% LeftJoin)
           <|> (kw "RIGHT" >>. optional (kw "OUTER") >>. kw "JOIN" >>% RightJoin)
           <|> (kw "FULL" >>. optional (kw "OUTER") >>. kw "JOIN" >>% FullJoin))
          .>>. tablePrimary .>>. on |>> fun ((k, t), c) -> k, t, c ]

do tableRefRef.Value <- tablePrimary .>>. many joinTail |>> fun (first, joins) -> joins |> List.fold (fun l (k, r, c) -> Join(l, k, r, c)) first

let private groupingElement: P<GroupingElement> =
    let set = attempt (parens (sepBy expr (sym ","))) <|> (expr |>> List.singleton)
    choice
        [ attempt (sym "(" >>. sym ")") >>% GroupEmpty
          kws [ "GROUPING"; "SETS" ] >>. parens (commaList set) |>> GroupingSets
          kw "ROLLUP" >>. parens (commaList expr) |>> Rollup
          kw "CUBE" >>. parens (commaList expr) |>> Cube
          expr |>> GroupExpr ]

let private select: P<Select> =
    kw "SELECT" >>. pipe5
        (opt ((kw "DISTINCT" >>% true) <|> (kw "ALL" >>% false)) |>> Option.defaultValue false)
        (commaList selectItem)
        (opt (kw "FROM" >>. tableRef))
        (opt (kw "WHERE" >>. expr))
        (opt (kws [ "GROUP"; "BY" ] >>. commaList groupingElement) .>>. opt (kw "HAVING" >>. expr))
        (fun d items from where (group, having) -> { Distinct = d; Items = items; From = from; Where = where; GroupBy = group; Having = having })

let private queryTerm: P<QueryBody> =
    choice
        [ select |>> SelectBody
          kw "VALUES" >>. commaList (parens (commaList expr)) |>> Values
          parens query |>> Nested ]

let private queryBody: P<QueryBody> =
    let union = kw "UNION" >>. opt ((kw "ALL" >>% true) <|> (kw "DISTINCT" >>% false)) |>> fun a -> defaultArg a false
    queryTerm .>>. many (union .>>. queryTerm)
    |>> fun (first, rest) -> rest |> List.fold (fun l (all, r) -> if all then UnionAll(l, r) else Union(l, r)) first

let private withClause: P<(string * string list * Query) list> =
    let cte = pipe3 ident (opt (parens (commaList ident)) |>> Option.defaultValue []) (kw "AS" >>. parens query) (fun n c q -> n, c, q)
    kw "WITH" >>. commaList cte

let private limitValue: P<Expr> = (numberLit |>> (Literal.Number >> Expr.Literal)) <|> nextParam

do
    queryRef.Value <-
        pipe5 (opt withClause |>> Option.defaultValue []) queryBody
            (opt (kws [ "ORDER"; "BY" ] >>. commaList orderItem) |>> Option.defaultValue [])
            (opt (kw "LIMIT" >>. limitValue))
            (opt (kw "OFFSET" >>. limitValue .>> optional ((kw "ROWS") <|> (kw "ROW")))
             .>>. opt (kw "FETCH" >>. ((kw "FIRST") <|> (kw "NEXT")) >>. limitValue .>> ((kw "ROWS") <|> (kw "ROW")) .>> kw "ONLY"))
            (fun w body order limit (offset, fetch) ->
                { With = w; Body = body; OrderBy = order; Limit = (match limit with Some _ -> limit | None -> fetch); Offset = offset })

let private statement: P<Statement> =
    let explain = kw "EXPLAIN" >>. kw "PLAN" >>. skipMany (notFollowedBy (kw "FOR") >>. word .>> ws) >>. kw "FOR" >>. query |>> Explain
    ws >>. (explain <|> (query |>> QueryStatement)) .>> optional (sym ";") .>> eof

/// The token at an error position, as Druid's messages name it.
let private tokenAt (text: string) (index: int) : string =
    if index >= text.Length then "<EOF>"
    else
        let c = text.[index]
        if isIdStart c then
            let mutable j = index
            while j < text.Length && isIdChar text.[j] do j <- j + 1
            text.Substring(index, j - index)
        elif Char.IsDigit c then
            let mutable j = index
            while j < text.Length && (Char.IsDigit text.[j] || text.[j] = '.') do j <- j + 1
            text.Substring(index, j - index)
        else string c

let private expectedLabels (error: FParsec.Error.ParserError) : string list =
    let rec collect (messages: ErrorMessageList) =
        if isNull messages then []
        else
            [ for m in ErrorMessageList.ToSortedArray messages do
                  match m with
                  | :? ErrorMessage.Expected as e -> yield e.Label
                  | :? ErrorMessage.ExpectedString as e -> yield "\"" + e.String + "\""
                  | :? ErrorMessage.ExpectedCaseInsensitiveString as e -> yield "\"" + e.CaseInsensitiveString + "\""
                  | :? ErrorMessage.NestedError as n -> yield! collect n.Messages
                  | :? ErrorMessage.CompoundError as c -> yield! collect c.NestedErrorMessages
                  | _ -> () ]
    collect error.Messages |> List.distinct

let private skipLeadingSpace (text: string) (index: int) =
    let mutable i = index
    while i < text.Length && Char.IsWhiteSpace text.[i] do i <- i + 1
    i

/// Parses one statement (an optional trailing `;` is allowed).
let parse (text: string) : Result<Statement, ParseError> =
    match runParserOnString statement 0 "sql" text with
    | Success(s, _, _) -> Result.Ok s
    | Failure(_, error, _) ->
        let index = int error.Position.Index
        let at = skipLeadingSpace text index
        // Report the position of the token itself, not of the whitespace before it.
        let line, column =
            if at = index then error.Position.Line, error.Position.Column
            else
                let before = text.Substring(0, at)
                let line = int64 (before |> Seq.filter (fun c -> c = '\n') |> Seq.length) + 1L
                let column = int64 (at - (before.LastIndexOf '\n' + 1)) + 1L
                line, column
        let token = tokenAt text at
        let expected = expectedLabels error
        let message =
            sprintf "Received an unexpected token [%s] (line [%d], column [%d]), acceptable options: [%s]" token line column
                (String.Join(", ", expected))
        Result.Error { Line = line; Column = column; Token = token; Expected = expected; Message = message }

/// Parses an expression alone (tests and the planner's helpers).
let parseExpr (text: string) : Result<Expr, string> =
    match runParserOnString (ws >>. expr .>> eof) 0 "sql" text with
    | Success(e, _, _) -> Result.Ok e
    | Failure(m, _, _) -> Result.Error m
