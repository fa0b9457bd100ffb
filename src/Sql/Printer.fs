/// Syntax tree → SQL text that parses back to the same tree. Compound operands are always
/// parenthesized and identifiers always quoted, so no precedence or keyword knowledge is
/// needed to read the output back.
module FunctionalDruid.Sql.Printer

open System
open FunctionalDruid.Sql.Ast

let quoteIdent (name: string) = "\"" + name.Replace("\"", "\"\"") + "\""
let quoteString (s: string) = "'" + s.Replace("'", "''") + "'"

let private opText (op: BinaryOp) =
    match op with
    | BinaryOp.Add -> "+"
    | BinaryOp.Sub -> "-"
    | BinaryOp.Mul -> "*"
    | BinaryOp.Div -> "/"
    | BinaryOp.Mod -> "%"
    | BinaryOp.Concat -> "||"
    | BinaryOp.Eq -> "="
    | BinaryOp.Ne -> "<>"
    | BinaryOp.Lt -> "<"
    | BinaryOp.Le -> "<="
    | BinaryOp.Gt -> ">"
    | BinaryOp.Ge -> ">="
    | BinaryOp.And -> "AND"
    | BinaryOp.Or -> "OR"

let literal (l: Literal) =
    match l with
    | Literal.Null -> "NULL"
    | Literal.Bool true -> "TRUE"
    | Literal.Bool false -> "FALSE"
    | Literal.Number n -> n
    | Literal.String s -> quoteString s
    | Literal.Timestamp s -> "TIMESTAMP " + quoteString s
    | Literal.Date s -> "DATE " + quoteString s
    | Literal.Interval(text, unit) -> sprintf "INTERVAL %s %s" (quoteString text) unit

let private frameBound (b: FrameBound) =
    match b with
    | FrameBound.UnboundedPreceding -> "UNBOUNDED PRECEDING"
    | FrameBound.UnboundedFollowing -> "UNBOUNDED FOLLOWING"
    | FrameBound.CurrentRow -> "CURRENT ROW"
    | FrameBound.Preceding n -> sprintf "%d PRECEDING" n
    | FrameBound.Following n -> sprintf "%d FOLLOWING" n

let rec expr (e: Expr) : string =
    match e with
    | Expr.Literal l -> literal l
    | Expr.Column(None, n) -> quoteIdent n
    | Expr.Column(Some q, n) -> quoteIdent q + "." + quoteIdent n
    | Expr.Star None -> "*"
    | Expr.Star(Some q) -> quoteIdent q + ".*"
    | Expr.Param _ -> "?"
    | Expr.Negate x -> "-" + operand x
    | Expr.Not x -> "NOT " + operand x
    | Expr.Binary(op, l, r) -> sprintf "%s %s %s" (operand l) (opText op) (operand r)
    | Expr.Call(name, _, [], None, None) when niladicFunctions.Contains name -> name
    | Expr.Call(name, distinct, args, filter, over) ->
        let args =
            args
            |> List.mapi (fun i a ->
                match a with
                | Expr.Keyword k when k.StartsWith "RETURNING " -> (if i > 0 then " " else "") + k
                | a -> (if i > 0 then ", " else "") + expr a)
            |> String.concat ""
        let filter = match filter with Some f -> " FILTER (WHERE " + expr f + ")" | None -> ""
        let over = match over with Some w -> " OVER " + window w | None -> ""
        sprintf "%s(%s%s)%s%s" name (if distinct then "DISTINCT " else "") args filter over
    | Expr.Keyword k -> k
    | Expr.Case(operand, whens, otherwise) ->
        let o = match operand with Some x -> " " + expr x | None -> ""
        let ws = whens |> List.map (fun (w, t) -> sprintf " WHEN %s THEN %s" (expr w) (expr t)) |> String.concat ""
        let e = match otherwise with Some x -> " ELSE " + expr x | None -> ""
        sprintf "CASE%s%s%s END" o ws e
    | Expr.Cast(x, t) -> sprintf "CAST(%s AS %s)" (expr x) t
    | Expr.InList(x, xs, neg) -> sprintf "%s %sIN (%s)" (operand x) (notText neg) (String.Join(", ", xs |> List.map expr))
    | Expr.InQuery(x, q, neg) -> sprintf "%s %sIN (%s)" (operand x) (notText neg) (query q)
    | Expr.Between(x, lo, hi, neg) -> sprintf "%s %sBETWEEN %s AND %s" (operand x) (notText neg) (operand lo) (operand hi)
    | Expr.Like(x, p, esc, neg) ->
        let esc = match esc with Some e -> " ESCAPE " + operand e | None -> ""
        sprintf "%s %sLIKE %s%s" (operand x) (notText neg) (operand p) esc
    | Expr.IsNull(x, neg) -> sprintf "%s IS %sNULL" (operand x) (notText neg)
    | Expr.IsBool(x, v, neg) -> sprintf "%s IS %s%s" (operand x) (notText neg) (if v then "TRUE" else "FALSE")
    | Expr.IsDistinctFrom(x, y, neg) -> sprintf "%s IS %sDISTINCT FROM %s" (operand x) (notText neg) (operand y)
    | Expr.Extract(unit, x) -> sprintf "EXTRACT(%s FROM %s)" unit (expr x)
    | Expr.FloorTo(ceil, x, unit) -> sprintf "%s(%s TO %s)" (if ceil then "CEIL" else "FLOOR") (operand x) unit
    | Expr.Position(a, b, from) ->
        let f = match from with Some x -> " FROM " + expr x | None -> ""
        sprintf "POSITION(%s IN %s%s)" (operand a) (expr b) f
    | Expr.Trim(where, chars, x) ->
        let c = match chars with Some c -> operand c + " " | None -> ""
        sprintf "TRIM(%s %sFROM %s)" where c (expr x)
    | Expr.Array xs -> "ARRAY[" + String.Join(", ", xs |> List.map expr) + "]"
    | Expr.ScalarQuery q -> "(" + query q + ")"
    | Expr.Exists q -> "EXISTS (" + query q + ")"

and private notText (negated: bool) = if negated then "NOT " else ""

/// Simple operands print bare; everything else in parentheses.
and private operand (e: Expr) : string =
    match e with
    | Expr.Literal(Literal.Number _ | Literal.String _ | Literal.Null | Literal.Bool _) | Expr.Column _ | Expr.Param _ | Expr.Call _
    | Expr.Cast _ | Expr.Case _ | Expr.Extract _ | Expr.FloorTo _ | Expr.Position _ | Expr.Trim _ | Expr.Array _ | Expr.ScalarQuery _ -> expr e
    | _ -> "(" + expr e + ")"

and private orderItem (o: OrderItem) =
    let nulls =
        match o.NullsFirst with
        | Some true -> " NULLS FIRST"
        | Some false -> " NULLS LAST"
        | None -> ""
    expr o.Expr + (if o.Descending then " DESC" else " ASC") + nulls

and private window (w: Window) =
    let parts =
        [ if not w.PartitionBy.IsEmpty then "PARTITION BY " + String.Join(", ", w.PartitionBy |> List.map expr)
          if not w.OrderBy.IsEmpty then "ORDER BY " + String.Join(", ", w.OrderBy |> List.map orderItem)
          match w.Frame with
          | Some f -> sprintf "%s BETWEEN %s AND %s" (if f.Rows then "ROWS" else "RANGE") (frameBound f.Lower) (frameBound f.Upper)
          | None -> () ]
    "(" + String.Join(" ", parts) + ")"

and private aliasText (alias: string option) (columns: string list) =
    let a = match alias with Some a -> " AS " + quoteIdent a | None -> ""
    let c = if columns.IsEmpty then "" else "(" + String.Join(", ", columns |> List.map quoteIdent) + ")"
    a + c

and tableRef (t: TableRef) : string =
    match t with
    | Table(schema, name, alias) ->
        let s = match schema with Some s -> quoteIdent s + "." | None -> ""
        s + quoteIdent name + aliasText alias []
    | Derived(q, alias, cols) -> "(" + query q + ")" + aliasText alias cols
    | Unnest(e, alias, cols) -> "UNNEST(" + expr e + ")" + aliasText alias cols
    | Join(l, kind, r, on) ->
        let k =
            match kind with
            | Inner -> "INNER JOIN"
            | LeftJoin -> "LEFT JOIN"
            | RightJoin -> "RIGHT JOIN"
            | FullJoin -> "FULL JOIN"
            | Cross -> "CROSS JOIN"
        let right = match r with Join _ -> "(" + tableRef r + ")" | _ -> tableRef r
        let on = match on with Some c -> " ON " + expr c | None -> ""
        sprintf "%s %s %s%s" (tableRef l) k right on

and private groupingElement (g: GroupingElement) =
    let list (xs: Expr list) = String.Join(", ", xs |> List.map expr)
    match g with
    | GroupExpr e -> expr e
    | GroupEmpty -> "()"
    | GroupingSets sets -> "GROUPING SETS (" + String.Join(", ", sets |> List.map (fun s -> "(" + list s + ")")) + ")"
    | Rollup xs -> "ROLLUP (" + list xs + ")"
    | Cube xs -> "CUBE (" + list xs + ")"

and private select (s: Select) =
    let items =
        s.Items
        |> List.map (function
            | Item(e, Some a) -> expr e + " AS " + quoteIdent a
            | Item(e, None) -> expr e
            | AllColumns None -> "*"
            | AllColumns(Some q) -> quoteIdent q + ".*")
    [ "SELECT " + (if s.Distinct then "DISTINCT " else "") + String.Join(", ", items)
      match s.From with Some f -> "FROM " + tableRef f | None -> ()
      match s.Where with Some w -> "WHERE " + expr w | None -> ()
      match s.GroupBy with Some g -> "GROUP BY " + String.Join(", ", g |> List.map groupingElement) | None -> ()
      match s.Having with Some h -> "HAVING " + expr h | None -> () ]
    |> String.concat "\n"

and private body (b: QueryBody) =
    match b with
    | SelectBody s -> select s
    | UnionAll(l, r) -> body l + "\nUNION ALL\n" + unionRight r
    | Union(l, r) -> body l + "\nUNION\n" + unionRight r
    | Values rows -> "VALUES " + String.Join(", ", rows |> List.map (fun r -> "(" + String.Join(", ", r |> List.map expr) + ")"))
    | Nested q -> "(" + query q + ")"

/// Unions associate to the left, so a union on the right keeps its parentheses.
and private unionRight (b: QueryBody) =
    match b with
    | UnionAll _ | Union _ -> "(" + query (simpleQuery b) + ")"
    | _ -> body b

and query (q: Query) : string =
    [ if not q.With.IsEmpty then
          let cte (name, cols: string list, sub) =
              let c = if cols.IsEmpty then "" else "(" + String.Join(", ", cols |> List.map quoteIdent) + ")"
              quoteIdent name + c + " AS (" + query sub + ")"
          "WITH " + String.Join(", ", q.With |> List.map cte)
      body q.Body
      if not q.OrderBy.IsEmpty then "ORDER BY " + String.Join(", ", q.OrderBy |> List.map orderItem)
      match q.Limit with Some l -> "LIMIT " + expr l | None -> ()
      match q.Offset with Some o -> "OFFSET " + expr o | None -> () ]
    |> String.concat "\n"

let statement (s: Statement) : string =
    match s with
    | QueryStatement q -> query q
    | Explain q -> "EXPLAIN PLAN FOR\n" + query q
