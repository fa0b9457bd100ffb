/// SQL scalar expressions → Druid expressions (with their SQL type). The same translation
/// feeds native virtual columns, expression filters and post-aggregators and the in-memory
/// operators, so a SQL function means the same thing on both paths.
module FunctionalDruid.Sql.Translate

open System
open NodaTime
open FunctionalDruid.Core
open FunctionalDruid.Core.ExprSyntax
open FunctionalDruid.Sql.Ast

type DExpr = FunctionalDruid.Core.Expr.Expr

/// A column visible to an expression: `Key` is the name the row (or native query) reads.
type Field = { Qualifier: string option; Name: string; Key: string; Type: SqlType }

type Scope =
    { Fields: Field list
      /// Consulted before translating any node: aggregates and GROUP BY expressions that an
      /// earlier stage already computed into a field.
      Substitute: Ast.Expr -> Field option
      Params: (Value * SqlType)[]
      Zone: DateTimeZone
      Now: int64 }

let private lit (v: Value) = DExpr.Literal v
let private call (name: string) (args: DExpr list) = DExpr.Call(name, args)
let private bin op l r = DExpr.Binary(op, l, r)
let private str (s: string) = lit (Value.String s)

let resolve (scope: Scope) (qualifier: string option) (name: string) : Field =
    let matches =
        scope.Fields |> List.filter (fun f -> f.Name = name && (qualifier.IsNone || f.Qualifier = qualifier))
    match matches with
    | f :: _ -> f
    | [] ->
        match qualifier with
        | Some q when not (scope.Fields |> List.exists (fun f -> f.Qualifier = Some q)) -> SqlError.invalid (sprintf "Table '%s' not found" q)
        | Some q -> SqlError.invalid (sprintf "Column '%s' not found in table '%s'" name q)
        | None -> SqlError.invalid (sprintf "Column '%s' not found in any table" name)

/// How expressions after a GROUP BY read a grouped row: a grouped expression or an aggregate
/// call is its field; a column grouped under another spelling (t.x vs x) is the same column;
/// any other column is an error, as in Druid.
let groupedSubstitute (scope: Scope) (groupExprs: Ast.Expr list) (groupFields: Field list) (aggCalls: Ast.Expr list) (aggFields: Field list) (e: Ast.Expr) : Field option =
    match List.tryFindIndex ((=) e) groupExprs with
    | Some i -> Some groupFields.[i]
    | None ->
        match List.tryFindIndex ((=) e) aggCalls with
        | Some i -> Some aggFields.[i]
        | None ->
            match e with
            | Expr.Column(q, n) ->
                let target = resolve scope q n
                match groupExprs |> List.tryFindIndex (function Expr.Column(q2, n2) -> (resolve scope q2 n2).Key = target.Key | _ -> false) with
                | Some i -> Some groupFields.[i]
                | None -> SqlError.invalid (sprintf "Expression '%s' is not being grouped" n)
            | _ -> None

/// Druid SQL reads timestamp text as `yyyy-MM-dd[ HH:mm:ss[.SSS]]` in the query time zone.
let parseTimestampText (zone: DateTimeZone) (text: string) : int64 option =
    let t = text.Trim()
    let t = if t.Length > 10 && t.[10] = ' ' then t.Substring(0, 10) + "T" + t.Substring(11) else t
    Time.tryParseInstantIn zone t

let periodOfUnit (unit: string) : string option =
    match unit.ToUpperInvariant().Replace("SQL_TSI_", "") with
    | "MILLISECOND" -> Some "PT0.001S"
    | "SECOND" -> Some "PT1S"
    | "MINUTE" -> Some "PT1M"
    | "HOUR" -> Some "PT1H"
    | "DAY" -> Some "P1D"
    | "WEEK" -> Some "P1W"
    | "MONTH" -> Some "P1M"
    | "QUARTER" -> Some "P3M"
    | "YEAR" -> Some "P1Y"
    | "DECADE" -> Some "P10Y"
    | "CENTURY" -> Some "P100Y"
    | "MILLENNIUM" -> Some "P1000Y"
    | _ -> None

let private unitPeriod (unit: string) =
    match periodOfUnit unit with
    | Some p -> p
    | None -> SqlError.invalid (sprintf "Unsupported time unit [%s]" unit)

let private fixedUnitMillis (unit: string) : int64 option =
    match unit.ToUpperInvariant().Replace("SQL_TSI_", "") with
    | "MILLISECOND" -> Some 1L
    | "SECOND" -> Some 1000L
    | "MINUTE" -> Some 60000L
    | "HOUR" -> Some 3600000L
    | "DAY" -> Some 86400000L
    | "WEEK" -> Some 604800000L
    | _ -> None

let isAggregateName (name: string) =
    match name with
    | "COUNT" | "SUM" | "MIN" | "MAX" | "AVG" | "APPROX_COUNT_DISTINCT" | "APPROX_COUNT_DISTINCT_BUILTIN" | "APPROX_COUNT_DISTINCT_DS_HLL"
    | "APPROX_COUNT_DISTINCT_DS_THETA" | "EARLIEST" | "LATEST" | "EARLIEST_BY" | "LATEST_BY" | "ANY_VALUE" | "ARRAY_AGG" | "STRING_AGG"
    | "LISTAGG" | "APPROX_QUANTILE" | "APPROX_QUANTILE_DS" | "BIT_AND" | "BIT_OR" | "BIT_XOR" | "STDDEV" | "STDDEV_POP" | "STDDEV_SAMP"
    | "VARIANCE" | "VAR_POP" | "VAR_SAMP" | "GROUPING" | "BOOL_AND" | "BOOL_OR" | "EVERY" -> true
    | _ -> false

let isWindowOnlyName (name: string) =
    match name with
    | "ROW_NUMBER" | "RANK" | "DENSE_RANK" | "LAG" | "LEAD" | "FIRST_VALUE" | "LAST_VALUE" | "NTILE" | "PERCENT_RANK" | "CUME_DIST" -> true
    | _ -> false

/// Does the expression contain an aggregate call (outside window functions)?
let rec hasAggregate (e: Ast.Expr) : bool =
    match e with
    | Expr.Call(name, _, args, _, None) -> isAggregateName name || List.exists hasAggregate args
    | Expr.Call(_, _, args, _, Some _) -> false
    | _ -> children e |> List.exists hasAggregate

and hasWindow (e: Ast.Expr) : bool =
    match e with
    | Expr.Call(_, _, _, _, Some _) -> true
    | _ -> children e |> List.exists hasWindow

/// Direct sub-expressions (not descending into subqueries).
and children (e: Ast.Expr) : Ast.Expr list =
    match e with
    | Expr.Literal _ | Expr.Column _ | Expr.Star _ | Expr.Param _ | Expr.Keyword _ | Expr.ScalarQuery _ | Expr.Exists _ -> []
    | Expr.Negate x | Expr.Not x | Expr.Cast(x, _) | Expr.IsNull(x, _) | Expr.IsBool(x, _, _) | Expr.Extract(_, x) | Expr.FloorTo(_, x, _) | Expr.InQuery(x, _, _) -> [ x ]
    | Expr.Binary(_, l, r) | Expr.IsDistinctFrom(l, r, _) -> [ l; r ]
    | Expr.Call(_, _, args, f, w) ->
        args @ Option.toList f @ (match w with Some w -> w.PartitionBy @ (w.OrderBy |> List.map (fun o -> o.Expr)) | None -> [])
    | Expr.Case(o, ws, el) -> Option.toList o @ (ws |> List.collect (fun (a, b) -> [ a; b ])) @ Option.toList el
    | Expr.InList(x, xs, _) -> x :: xs
    | Expr.Between(x, a, b, _) -> [ x; a; b ]
    | Expr.Like(x, p, e, _) -> x :: p :: Option.toList e
    | Expr.Position(a, b, c) -> a :: b :: Option.toList c
    | Expr.Trim(_, c, x) -> Option.toList c @ [ x ]
    | Expr.Array xs -> xs

let private numberValue (text: string) : Value * SqlType =
    if text.IndexOfAny [| '.'; 'e'; 'E' |] >= 0 then Value.Double(Double.Parse(text, Globalization.CultureInfo.InvariantCulture)), SqlType.Double
    else
        match Int64.TryParse text with
        | true, l -> Value.Long l, SqlType.Bigint
        | _ -> Value.Double(Double.Parse(text, Globalization.CultureInfo.InvariantCulture)), SqlType.Double

/// A string constant compared with a number or a timestamp becomes that type (Druid coerces
/// VARCHAR parameters and literals this way).
let private coerceConstant (scope: Scope) (target: SqlType) (e: DExpr, t: SqlType) : DExpr * SqlType =
    match e, t with
    | DExpr.Literal(Value.String s), SqlType.Varchar when target.IsTime ->
        match parseTimestampText scope.Zone s with
        | Some ms -> lit (Value.Long ms), target
        | None -> SqlError.invalid (sprintf "Cannot apply '=' to arguments: [%s] is not a valid TIMESTAMP" s)
    | DExpr.Literal(Value.String s), SqlType.Varchar when target.IsNumeric ->
        match Value.parseLongText s with
        | Some l when target = SqlType.Bigint -> lit (Value.Long l), SqlType.Bigint
        | _ ->
            match Value.parseDoubleText s with
            | Some d -> lit (Value.Double d), SqlType.Double
            | None -> e, t
    | _ -> e, t

let private zoneText (scope: Scope) = str scope.Zone.Id

let private comparisonOp (op: BinaryOp) =
    match op with
    | BinaryOp.Eq -> Equal
    | BinaryOp.Ne -> NotEqual
    | BinaryOp.Lt -> Less
    | BinaryOp.Le -> LessOrEqual
    | BinaryOp.Gt -> Greater
    | _ -> GreaterOrEqual

/// Calcite's operand check: an array never compares with a complex (JSON) value.
let private checkComparable (op: BinaryOp) (a: SqlType) (b: SqlType) =
    let rec typeText (t: SqlType) =
        match t with
        | SqlType.Array e -> typeText e + " ARRAY"
        | SqlType.Other n -> n.ToUpperInvariant()
        | t -> t.SqlName
    match a, b with
    | SqlType.Array _, SqlType.Other _ | SqlType.Other _, SqlType.Array _ ->
        let symbol =
            match op with
            | BinaryOp.Eq -> "="
            | BinaryOp.Ne -> "<>"
            | BinaryOp.Lt -> "<"
            | BinaryOp.Le -> "<="
            | BinaryOp.Gt -> ">"
            | _ -> ">="
        SqlError.invalid (sprintf "Cannot apply '%s' to arguments of type '<%s> %s <%s>'" symbol (typeText a) symbol (typeText b))
    | _ -> ()

let numericResult (a: SqlType) (b: SqlType) =
    match a, b with
    | SqlType.Bigint, SqlType.Bigint -> SqlType.Bigint
    | (SqlType.Timestamp | SqlType.Date), _ | _, (SqlType.Timestamp | SqlType.Date) -> SqlType.Bigint
    | SqlType.Float, SqlType.Float -> SqlType.Float
    | SqlType.Boolean, SqlType.Boolean -> SqlType.Bigint
    | SqlType.Bigint, SqlType.Boolean | SqlType.Boolean, SqlType.Bigint -> SqlType.Bigint
    | _ -> SqlType.Double

/// Calcite's validation error for operands of the wrong type, listing them as it does
/// (`<CHAR(3)>` for a string literal, `<SYMBOL>` for a unit keyword).
let refuseOperands (name: string) (operands: (Ast.Expr * SqlType) list) : 'a =
    let shown (e: Ast.Expr, t: SqlType) =
        match e with
        | Expr.Literal(Literal.String s) -> sprintf "CHAR(%d)" s.Length
        | Expr.Literal(Literal.Number n) when n |> Seq.forall Char.IsDigit -> "INTEGER"
        | Expr.Keyword _ -> "SYMBOL"
        | _ -> match t with SqlType.Other n -> n.ToUpperInvariant() | t -> t.SqlName
    let listed = operands |> List.map (fun o -> "<" + shown o + ">") |> String.concat ", "
    SqlError.invalid (sprintf "Cannot apply '%s' to arguments of type '%s(%s)'" name name listed)

/// A TIMESTAMP operand takes timestamps, dates and (implicitly cast) strings, not numbers.
let private acceptsAsTimestamp (t: SqlType) =
    match t with
    | SqlType.Timestamp | SqlType.Date | SqlType.Varchar | SqlType.Null -> true
    | _ -> false

let rec translate (scope: Scope) (e: Ast.Expr) : DExpr * SqlType =
    match scope.Substitute e with
    | Some f -> DExpr.Identifier f.Key, f.Type
    | None ->
    let tr = translate scope
    match e with
    | Expr.Literal l ->
        match l with
        | Literal.Null -> lit Value.Null, SqlType.Null
        | Literal.Bool b -> lit (Value.Long(if b then 1L else 0L)), SqlType.Boolean
        | Literal.Number n -> let v, t = numberValue n in lit v, t
        | Literal.String s -> str s, SqlType.Varchar
        | Literal.Timestamp s ->
            match parseTimestampText scope.Zone s with
            | Some ms -> lit (Value.Long ms), SqlType.Timestamp
            | None -> SqlError.invalid (sprintf "Illegal TIMESTAMP literal '%s': not in format 'yyyy-MM-dd HH:mm:ss'" s)
        | Literal.Date s ->
            match parseTimestampText scope.Zone s with
            | Some ms -> lit (Value.Long ms), SqlType.Date
            | None -> SqlError.invalid (sprintf "Illegal DATE literal '%s': not in format 'yyyy-MM-dd'" s)
        | Literal.Interval(text, unit) ->
            match fixedUnitMillis (unit.Split(' ').[0]), Int64.TryParse text with
            | Some ms, (true, n) -> lit (Value.Long(ms * n)), SqlType.Bigint
            | _ -> SqlError.unsupported (sprintf "INTERVAL '%s' %s is only supported as an operand of + or - on a TIMESTAMP" text unit)
    | Expr.Column(q, name) -> let f = resolve scope q name in DExpr.Identifier f.Key, f.Type
    | Expr.Param i ->
        if i >= scope.Params.Length then SqlError.invalid (sprintf "No value bound for parameter (position [%d])" (i + 1))
        else let v, t = scope.Params.[i] in lit v, t
    | Expr.Negate x -> let x, t = tr x in DExpr.Unary(Negate, x), t
    | Expr.Not x -> let x, _ = tr x in DExpr.Unary(Not, x), SqlType.Boolean
    | Expr.Binary((BinaryOp.Add | BinaryOp.Sub) as op, l, Expr.Literal(Literal.Interval(text, unit))) ->
        let l, t = tr l
        let sign = if op = BinaryOp.Sub then -1L else 1L
        match Int64.TryParse text, periodOfUnit (unit.Split(' ').[0]) with
        | (true, n), Some period -> call "timestamp_shift" [ l; str period; lit (Value.Long(sign * n)); zoneText scope ], t
        | _ -> SqlError.unsupported (sprintf "INTERVAL '%s' %s is not supported" text unit)
    | Expr.Binary(BinaryOp.Concat, l, r) -> call "concat" [ fst (tr l); fst (tr r) ], SqlType.Varchar
    | Expr.Binary((BinaryOp.And | BinaryOp.Or) as op, l, r) ->
        bin (if op = BinaryOp.And then And else Or) (fst (tr l)) (fst (tr r)), SqlType.Boolean
    | Expr.Binary((BinaryOp.Eq | BinaryOp.Ne | BinaryOp.Lt | BinaryOp.Le | BinaryOp.Gt | BinaryOp.Ge) as op, l, r) ->
        let l, r = tr l, tr r
        checkComparable op (snd l) (snd r)
        let l, r = coerceConstant scope (snd r) l, coerceConstant scope (snd l) r
        bin (comparisonOp op) (fst l) (fst r), SqlType.Boolean
    | Expr.Binary(op, l, r) ->
        let (l, lt), (r, rt) = tr l, tr r
        let (l, lt), (r, rt) = coerceConstant scope rt (l, lt), coerceConstant scope lt (r, rt)
        let dop =
            match op with
            | BinaryOp.Add -> Add
            | BinaryOp.Sub -> Subtract
            | BinaryOp.Mul -> Multiply
            | BinaryOp.Div -> Divide
            | _ -> Modulo
        bin dop l r, numericResult lt rt
    | Expr.Case(operand, whens, otherwise) ->
        let results = whens |> List.map (snd >> tr)
        let elseE = otherwise |> Option.map tr
        let resultType =
            (results @ Option.toList elseE) |> List.map snd |> List.filter (fun t -> t <> SqlType.Null)
            |> List.fold (fun acc t -> match acc with None -> Some t | Some a when a = t -> Some a | Some a when a.IsNumeric && t.IsNumeric -> Some(numericResult a t) | Some a -> Some a) None
            |> Option.defaultValue SqlType.Null
        let elseArg = match elseE with Some(x, _) -> x | None -> lit Value.Null
        match operand with
        | None -> call "case_searched" ((List.zip whens results |> List.collect (fun ((w, _), (r, _)) -> [ fst (tr w); r ])) @ [ elseArg ]), resultType
        | Some o ->
            let o = tr o
            call "case_simple" (fst o :: (List.zip whens results |> List.collect (fun ((w, _), (r, _)) -> [ fst (coerceConstant scope (snd o) (tr w)); r ])) @ [ elseArg ]), resultType
    | Expr.Cast(x, typeName) ->
        let (xe, xt) = tr x
        match SqlType.ofCastName typeName with
        | None -> SqlError.unsupported (sprintf "Cannot cast to type [%s]" typeName)
        | Some target -> castTo scope (xe, xt) target, target
    | Expr.InList(x, xs, negated) ->
        let (xe, xt) = tr x
        let tests = xs |> List.map (fun v -> bin Equal xe (fst (coerceConstant scope xt (tr v))))
        let any = tests |> List.reduce (fun a b -> bin Or a b)
        (if negated then DExpr.Unary(Not, any) else any), SqlType.Boolean
    | Expr.Between(x, lo, hi, negated) ->
        let (xe, xt) = tr x
        let lo, hi = fst (coerceConstant scope xt (tr lo)), fst (coerceConstant scope xt (tr hi))
        let b = bin And (bin GreaterOrEqual xe lo) (bin LessOrEqual xe hi)
        (if negated then DExpr.Unary(Not, b) else b), SqlType.Boolean
    | Expr.Like(x, p, esc, negated) ->
        let args = [ fst (tr x); fst (tr p) ] @ (esc |> Option.map (tr >> fst) |> Option.toList)
        let l = call "like" args
        (if negated then DExpr.Unary(Not, l) else l), SqlType.Boolean
    | Expr.IsNull(x, negated) -> call (if negated then "notnull" else "isnull") [ fst (tr x) ], SqlType.Boolean
    | Expr.IsBool(x, value, negated) ->
        let x = fst (tr x)
        let test = if value then bin NotEqual (call "nvl" [ x; lit (Value.Long 0L) ]) (lit (Value.Long 0L)) else call "nvl" [ bin Equal x (lit (Value.Long 0L)); lit (Value.Long 0L) ]
        (if negated then DExpr.Unary(Not, test) else test), SqlType.Boolean
    | Expr.IsDistinctFrom(a, b, negated) ->
        let a, b = fst (tr a), fst (tr b)
        let distinct =
            call "case_searched"
                [ bin And (call "isnull" [ a ]) (call "isnull" [ b ]); lit (Value.Long 0L)
                  bin Or (call "isnull" [ a ]) (call "isnull" [ b ]); lit (Value.Long 1L)
                  bin NotEqual a b ]
        (if negated then DExpr.Unary(Not, distinct) else distinct), SqlType.Boolean
    | Expr.Extract(unit, x) ->
        let u = match unit with "DOW" -> "DOW" | "ISODOW" -> "ISODOW" | u -> u
        let xe, xt = tr x
        if not (acceptsAsTimestamp xt) then refuseOperands "EXTRACT" [ Expr.Keyword u, SqlType.Varchar; x, xt ]
        call "timestamp_extract" [ xe; str u; zoneText scope ], SqlType.Bigint
    | Expr.FloorTo(ceil, x, unit) ->
        let (xe, xt) = tr x
        if not (acceptsAsTimestamp xt) then refuseOperands (if ceil then "CEIL" else "FLOOR") [ x, xt; Expr.Keyword unit, SqlType.Varchar ]
        call (if ceil then "timestamp_ceil" else "timestamp_floor") [ xe; str (unitPeriod unit); lit Value.Null; zoneText scope ], (if xt = SqlType.Date then xt else SqlType.Timestamp)
    | Expr.Position(needle, haystack, from) ->
        let start = match from with Some f -> bin Subtract (fst (tr f)) (lit (Value.Long 1L)) | None -> lit (Value.Long 0L)
        bin Add (call "strpos" [ fst (tr haystack); fst (tr needle); start ]) (lit (Value.Long 1L)), SqlType.Bigint
    | Expr.Trim(where, chars, x) ->
        let fn = match where with "LEADING" -> "ltrim" | "TRAILING" -> "rtrim" | _ -> "trim"
        call fn (fst (tr x) :: (chars |> Option.map (tr >> fst) |> Option.toList)), SqlType.Varchar
    | Expr.Array xs ->
        let items = xs |> List.map tr
        let elementType = items |> List.tryHead |> Option.map snd |> Option.defaultValue SqlType.Varchar
        call "array" (items |> List.map fst), SqlType.Array elementType
    | Expr.Call(name, _, _, _, Some _) -> SqlError.unsupported (sprintf "Window function %s is only supported in the select list" name)
    | Expr.Call(name, _, _, _, _) when isAggregateName name ->
        SqlError.invalid (sprintf "Aggregate expression '%s' is illegal in this clause (WHERE, GROUP BY or an aggregate's argument)" name)
    | Expr.Call(name, _, args, _, _) -> callFunction scope name args
    | Expr.Star _ -> SqlError.invalid "'*' is only allowed in the select list and COUNT(*)"
    | Expr.Keyword k -> str k, SqlType.Varchar
    | Expr.ScalarQuery _ | Expr.Exists _ | Expr.InQuery _ -> SqlError.unsupported "Subqueries in expressions are only supported as IN (SELECT ...) filters and FROM clauses"

and castTo (scope: Scope) (xe: DExpr, xt: SqlType) (target: SqlType) : DExpr =
    match target with
    | SqlType.Varchar -> if xt = SqlType.Varchar then xe else call "cast" [ xe; str "STRING" ]
    | SqlType.Bigint -> if xt = SqlType.Bigint || xt.IsTime then xe else call "cast" [ xe; str "LONG" ]
    | SqlType.Double | SqlType.Float -> call "cast" [ xe; str "DOUBLE" ]
    | SqlType.Boolean -> bin NotEqual (call "cast" [ xe; str "LONG" ]) (lit (Value.Long 0L))
    | SqlType.Timestamp ->
        if xt = SqlType.Varchar then
            match xe with
            | DExpr.Literal(Value.String s) -> lit (match parseTimestampText scope.Zone s with Some ms -> Value.Long ms | None -> Value.Null)
            | _ -> call "timestamp_parse" [ xe; lit Value.Null; zoneText scope ]
        else xe
    | SqlType.Date ->
        let t = castTo scope (xe, xt) SqlType.Timestamp
        call "timestamp_floor" [ t; str "P1D"; lit Value.Null; zoneText scope ]
    | SqlType.Array SqlType.Varchar -> call "cast" [ xe; str "ARRAY<STRING>" ]
    | SqlType.Array SqlType.Bigint -> call "cast" [ xe; str "ARRAY<LONG>" ]
    | SqlType.Array _ -> call "cast" [ xe; str "ARRAY<DOUBLE>" ]
    | _ -> xe

and private callFunction (scope: Scope) (name: string) (args: Ast.Expr list) : DExpr * SqlType =
    let tr = translate scope
    let targs = args |> List.map tr
    let a = targs |> List.map fst
    let arg i = fst targs.[i]
    let argType i = snd targs.[i]
    let count = args.Length
    let need (lo: int) (hi: int) =
        if count < lo || count > hi then
            SqlError.invalid (sprintf "Invalid number of arguments to function '%s'. Was expecting %s arguments" name (if lo = hi then string lo else sprintf "%d to %d" lo hi))
    let same (fn: string) (t: SqlType) = call fn a, t
    let stringConst i =
        match args.[i] with
        | Expr.Literal(Literal.String s) -> s
        | Expr.Param p when p < scope.Params.Length -> Value.toStringOrNull (fst scope.Params.[p])
        | _ -> SqlError.invalid (sprintf "Argument %d of %s must be a literal" (i + 1) name)
    let orNull i = if count > i then arg i else lit Value.Null
    let zoneArg i = if count > i then arg i else zoneText scope
    let timestampOperands =
        match name with
        | "TIME_FLOOR" | "TIME_CEIL" | "TIME_SHIFT" | "TIME_EXTRACT" | "TIMESTAMP_TO_MILLIS" | "TIME_FORMAT" | "TIME_IN_INTERVAL" -> [ 0 ]
        | "DATE_TRUNC" -> [ 1 ]
        | "TIMESTAMPADD" -> [ 2 ]
        | "TIMESTAMPDIFF" -> [ 1; 2 ]
        | _ -> []
    if timestampOperands |> List.exists (fun i -> i < count && not (acceptsAsTimestamp (argType i))) then
        refuseOperands name (List.zip args (List.map snd targs))
    if name = "TIME_PARSE" && count > 0 && not (argType 0 = SqlType.Varchar || argType 0 = SqlType.Null) then
        refuseOperands name (List.zip args (List.map snd targs))
    match name with
    | "TIME_FLOOR" -> need 2 4; call "timestamp_floor" [ arg 0; arg 1; orNull 2; zoneArg 3 ], SqlType.Timestamp
    | "TIME_CEIL" -> need 2 4; call "timestamp_ceil" [ arg 0; arg 1; orNull 2; zoneArg 3 ], SqlType.Timestamp
    | "TIME_SHIFT" -> need 3 4; call "timestamp_shift" [ arg 0; arg 1; arg 2; zoneArg 3 ], SqlType.Timestamp
    | "TIME_EXTRACT" -> need 1 3; call "timestamp_extract" [ arg 0; (if count > 1 then arg 1 else str "MILLISECOND"); zoneArg 2 ], SqlType.Bigint
    | "TIME_PARSE" -> need 1 3; call "timestamp_parse" [ arg 0; orNull 1; zoneArg 2 ], SqlType.Timestamp
    | "TIME_FORMAT" -> need 1 3; call "timestamp_format" [ arg 0; orNull 1; zoneArg 2 ], SqlType.Varchar
    | "DATE_TRUNC" ->
        need 2 2
        call "timestamp_floor" [ arg 1; str (unitPeriod (stringConst 0)); lit Value.Null; zoneText scope ], SqlType.Timestamp
    | "TIME_IN_INTERVAL" ->
        // The interval is a literal (start inclusive, end exclusive) read in the session zone.
        need 2 2
        let text = stringConst 1
        match Time.tryParseIntervalIn scope.Zone text with
        | Some i -> bin And (bin GreaterOrEqual (arg 0) (lit (Value.Long i.Start))) (bin Less (arg 0) (lit (Value.Long i.End))), SqlType.Boolean
        | None -> SqlError.invalid (sprintf "TIME_IN_INTERVAL: [%s] is not an ISO 8601 interval" text)
    | "MILLIS_TO_TIMESTAMP" -> need 1 1; arg 0, SqlType.Timestamp
    | "TIMESTAMP_TO_MILLIS" -> need 1 1; arg 0, SqlType.Bigint
    | "TIMESTAMPADD" ->
        need 3 3
        let unit = match args.[0] with Expr.Keyword k -> k | _ -> stringConst 0
        call "timestamp_shift" [ arg 2; str (unitPeriod unit); arg 1; zoneText scope ], SqlType.Timestamp
    | "TIMESTAMPDIFF" ->
        need 3 3
        let unit = match args.[0] with Expr.Keyword k -> k | _ -> stringConst 0
        let months () = call "subtract_months" [ arg 2; arg 1; zoneText scope ]
        match fixedUnitMillis unit, unit.ToUpperInvariant().Replace("SQL_TSI_", "") with
        | Some ms, _ -> call "div" [ bin Subtract (arg 2) (arg 1); lit (Value.Long ms) ], SqlType.Bigint
        // Calendar units count whole months in the session time zone, as Druid plans them.
        | None, "MONTH" -> months (), SqlType.Bigint
        | None, "QUARTER" -> call "div" [ months (); lit (Value.Long 3L) ], SqlType.Bigint
        | None, "YEAR" -> call "div" [ months (); lit (Value.Long 12L) ], SqlType.Bigint
        | None, _ -> SqlError.unsupported (sprintf "TIMESTAMPDIFF with unit %s is not supported" unit)
    | "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "NOW" -> lit (Value.Long scope.Now), SqlType.Timestamp
    | "CURRENT_DATE" -> call "timestamp_floor" [ lit (Value.Long scope.Now); str "P1D"; lit Value.Null; zoneText scope ], SqlType.Date
    | "CONCAT" -> same "concat" SqlType.Varchar
    | "LPAD" | "RPAD" ->
        need 2 3
        call (name.ToLowerInvariant()) (if count = 2 then a @ [ str " " ] else a), SqlType.Varchar
    | "LOWER" | "UPPER" | "REVERSE" | "REPLACE" | "REPEAT" | "LTRIM" | "RTRIM" | "REGEXP_EXTRACT" | "REGEXP_REPLACE" | "LEFT" | "RIGHT" ->
        same (name.ToLowerInvariant()) SqlType.Varchar
    | "TEXTCAT" -> need 2 2; call "concat" a, SqlType.Varchar
    | "STRING_FORMAT" -> same "format" SqlType.Varchar
    | "BTRIM" -> same "trim" SqlType.Varchar
    | "SUBSTRING" | "SUBSTR" ->
        need 2 3
        call "substring" ([ arg 0; bin Subtract (arg 1) (lit (Value.Long 1L)) ] @ (if count > 2 then [ arg 2 ] else [ lit (Value.Long -1L) ])), SqlType.Varchar
    | "LENGTH" | "CHAR_LENGTH" | "CHARACTER_LENGTH" | "STRLEN" -> call "strlen" a, SqlType.Bigint
    | "STRPOS" -> need 2 2; bin Add (call "strpos" a) (lit (Value.Long 1L)), SqlType.Bigint
    | "REGEXP_LIKE" | "CONTAINS_STRING" | "ICONTAINS_STRING" ->
        // SQL predicates over a null string are null, not false.
        call "case_searched" [ call "isnull" [ arg 0 ]; lit Value.Null; call (name.ToLowerInvariant()) a ], SqlType.Boolean
    | "PARSE_LONG" -> same "parse_long" SqlType.Bigint
    | "ABS" -> same "abs" (argType 0)
    | "CEIL" | "FLOOR" -> same (name.ToLowerInvariant()) (if argType 0 = SqlType.Bigint then SqlType.Bigint else SqlType.Double)
    | "ROUND" -> same "round" (if argType 0 = SqlType.Bigint then SqlType.Bigint else SqlType.Double)
    | "MOD" -> need 2 2; bin Modulo (arg 0) (arg 1), numericResult (argType 0) (argType 1)
    | "POWER" -> same "pow" SqlType.Double
    | "SQRT" | "EXP" | "LOG10" | "SIN" | "COS" | "TAN" | "COT" | "ASIN" | "ACOS" | "ATAN" | "ATAN2" | "CBRT" -> same (name.ToLowerInvariant()) SqlType.Double
    | "LN" -> same "log" SqlType.Double
    | "DEGREES" -> same "todegrees" SqlType.Double
    | "RADIANS" -> same "toradians" SqlType.Double
    | "PI" -> call "pi" [], SqlType.Double
    | "DIV" -> same "div" SqlType.Bigint
    | "SAFE_DIVIDE" -> same "safe_divide" (numericResult (argType 0) (argType 1))
    | "TRUNCATE" | "TRUNC" ->
        let digits = if count > 1 then arg 1 else lit (Value.Long 0L)
        let scale = call "pow" [ lit (Value.Long 10L); digits ]
        let x = arg 0
        let scaled = bin Multiply x scale
        call "case_searched" [ bin GreaterOrEqual x (lit (Value.Long 0L)); bin Divide (call "floor" [ scaled ]) scale; bin Divide (call "ceil" [ scaled ]) scale ],
        argType 0
    | "COALESCE" ->
        let t = targs |> List.map snd |> List.tryFind (fun t -> t <> SqlType.Null) |> Option.defaultValue SqlType.Null
        call "coalesce" (targs |> List.map (fun x -> fst (coerceConstant scope t x))), t
    | "NVL" | "IFNULL" -> need 2 2; call "nvl" a, (if argType 0 = SqlType.Null then argType 1 else argType 0)
    | "NULLIF" -> need 2 2; call "case_searched" [ bin Equal (arg 0) (arg 1); lit Value.Null; arg 0 ], argType 0
    | "GREATEST" | "LEAST" ->
        let t = targs |> List.map snd |> List.reduce (fun x y -> if x = y then x elif x.IsNumeric && y.IsNumeric then numericResult x y else SqlType.Varchar)
        same (name.ToLowerInvariant()) t
    | "NOT" -> DExpr.Unary(Not, arg 0), SqlType.Boolean
    | "ARRAY" -> call "array" a, SqlType.Array(if count > 0 then argType 0 else SqlType.Varchar)
    | "MV_FILTER_PREFIX" | "MV_FILTER_REGEX" | "MV_FILTER_ONLY" | "MV_FILTER_NONE" ->
        need 2 2
        let x = DExpr.Identifier "__mv_x"
        let test =
            match name with
            | "MV_FILTER_PREFIX" -> bin Equal (call "substring" [ x; lit (Value.Long 0L); call "strlen" [ arg 1 ] ]) (arg 1)
            | "MV_FILTER_REGEX" -> call "regexp_like" [ x; arg 1 ]
            | "MV_FILTER_ONLY" -> call "array_contains" [ arg 1; x ]
            | _ -> DExpr.Unary(Not, call "array_contains" [ arg 1; x ])
        call "filter" [ DExpr.Lambda([ "__mv_x" ], test); call "cast" [ arg 0; str "ARRAY<STRING>" ] ], SqlType.Varchar
    | "MV_TO_ARRAY" -> call "cast" [ arg 0; str "ARRAY<STRING>" ], SqlType.Array SqlType.Varchar
    | "ARRAY_TO_MV" -> arg 0, SqlType.Varchar
    | "MV_LENGTH" | "ARRAY_LENGTH" | "MV_OFFSET_OF" | "MV_ORDINAL_OF" | "ARRAY_OFFSET_OF" | "ARRAY_ORDINAL_OF" -> same (name.ToLowerInvariant()) SqlType.Bigint
    | "MV_CONTAINS" | "MV_OVERLAP" | "ARRAY_CONTAINS" | "ARRAY_OVERLAP" -> same (name.ToLowerInvariant()) SqlType.Boolean
    | "MV_OFFSET" | "MV_ORDINAL" | "MV_TO_STRING" | "ARRAY_TO_STRING" -> same (name.ToLowerInvariant()) SqlType.Varchar
    | "ARRAY_OFFSET" | "ARRAY_ORDINAL" ->
        same (name.ToLowerInvariant()) (match argType 0 with SqlType.Array t -> t | t -> t)
    | "MV_PREPEND" | "MV_APPEND" | "MV_CONCAT" | "MV_SLICE" | "STRING_TO_MV" -> same (name.ToLowerInvariant()) SqlType.Varchar
    | "ARRAY_PREPEND" | "ARRAY_APPEND" | "ARRAY_CONCAT" | "ARRAY_SLICE" ->
        same (name.ToLowerInvariant()) (targs |> List.map snd |> List.tryFind (function SqlType.Array _ -> true | _ -> false) |> Option.defaultValue (SqlType.Array SqlType.Varchar))
    | "STRING_TO_ARRAY" -> same "string_to_array" (SqlType.Array SqlType.Varchar)
    | "JSON_VALUE" ->
        // RETURNING names a SQL type; the native function takes its native name (LONG, ARRAY<STRING>...).
        need 2 3
        let returning =
            if count < 3 then None
            else
                match args.[2] with
                | Expr.Keyword k when k.StartsWith "RETURNING " ->
                    match SqlType.ofCastName (k.Substring(10).Trim().ToUpperInvariant()) with
                    | Some t -> Some t
                    | None -> SqlError.invalid (sprintf "Unsupported JSON_VALUE return type [%s]" (k.Substring 10))
                | _ -> SqlError.invalid "JSON_VALUE takes a RETURNING clause as its third argument"
        match returning with
        | Some t -> call "json_value" [ arg 0; arg 1; str t.NativeName ], t
        | None -> call "json_value" [ arg 0; arg 1 ], SqlType.Varchar
    | "BITWISE_AND" | "BITWISE_OR" | "BITWISE_XOR" -> same (name.ToLowerInvariant()) SqlType.Bigint
    | "JSON_PATHS" | "JSON_KEYS" -> same (name.ToLowerInvariant()) (SqlType.Array SqlType.Varchar)
    | _ ->
        match ExprTimeAndArrays.table.TryFind(name.ToLowerInvariant()) with
        | Some _ -> call (name.ToLowerInvariant()) a, (if count > 0 then argType 0 else SqlType.Varchar)
        | None ->
            let signature = String.Join(", ", targs |> List.map (fun (_, t) -> "<" + t.SqlName + ">"))
            SqlError.invalid (sprintf "No match found for function signature %s(%s)" name signature)
