/// Statements Druid's SQL planner refuses although they are valid SQL: checked on the syntax
/// tree before anything runs, so this server refuses them too, with Druid's error texts.
module FunctionalDruid.Sql.PlannerRules

open FunctionalDruid.Core
open FunctionalDruid.Sql.Ast

/// Druid's wording when its planner finds no plan, with the reason it recorded.
let private cannotPlan (reason: string) : 'a =
    SqlError.unsupported (sprintf "Query could not be planned. A possible reason is [%s]" reason)

let private notSimpleScans = "SQL requires union between inputs that are not simple table scans and involve a filter or aliasing."

let rec private unionArms (b: QueryBody) : QueryBody list =
    match b with
    | UnionAll(l, r) -> unionArms l @ unionArms r
    | Nested { With = []; Body = body; OrderBy = []; Limit = None; Offset = None } -> unionArms body
    | other -> [ other ]

/// The table and the table columns an arm reads, when it is a bare projection of table
/// columns (renaming allowed); None for anything else (filters, expressions, aggregation).
let private simpleScan (catalog: ICatalog) (arm: QueryBody) : (string * (string * ColumnType) list) option =
    match arm with
    | SelectBody({ Distinct = false; From = Some(Table((None | Some "druid"), table, _)); Where = None; GroupBy = None; Having = None } as s) ->
        let columns = catalog.ColumnsOf table
        if columns.IsEmpty then None
        else
            let picked =
                s.Items |> List.map (function
                    | AllColumns _ -> Some columns
                    | Item(Expr.Column(_, n), _) -> columns |> List.tryFind (fun (c, _) -> c = n) |> Option.map List.singleton
                    | Item _ -> None)
            if picked |> List.forall Option.isSome then Some(table, picked |> List.collect Option.get) else None
    | _ -> None

let private isNumeric (t: ColumnType) = (SqlType.ofColumnType t).IsNumeric

/// A UNION ALL under another query becomes Druid's `union` datasource, which only unions
/// tables: every arm must read table columns as they are, under the same names, and the
/// columns the outer query uses must agree in type (numbers may widen).
let private checkUnionDataSource (catalog: ICatalog) (outer: Select) (union: QueryBody) =
    let arms = unionArms union
    let scans = arms |> List.map (simpleScan catalog)
    if scans |> List.exists Option.isNone then
        // Arms over views or CTEs are not ours to judge; only table and join arms are refused.
        let isTableArm = function SelectBody { From = Some(Table((None | Some "druid"), t, _)) } -> not (catalog.ColumnsOf t).IsEmpty | _ -> false
        let isJoinArm = function SelectBody { From = Some(Join _) } -> true | _ -> false
        if arms |> List.forall isTableArm then cannotPlan notSimpleScans
        elif arms |> List.forall (fun a -> isTableArm a || isJoinArm a) then
            // Druid records no reason when a union's arms join or unnest.
            SqlError.unsupported "Unhandled Query Planning Failure, see broker logs for details"
    else
        let scans = scans |> List.map Option.get
        let names (_, cols) = cols |> List.map fst
        let first = List.head scans
        match scans |> List.tryFind (fun s -> names s <> names first) with
        | Some other ->
            cannotPlan (sprintf "SQL requires union between two tables and column names queried for each table are different Left: [%s], Right: [%s]."
                            (String.concat ", " (names first)) (String.concat ", " (names other)))
        | None ->
            let used =
                SqlRewrite.referencedColumns { With = []; Body = SelectBody { outer with From = None }; OrderBy = []; Limit = None; Offset = None }
            let usedHere (name: string) = match used with Some u -> u.Contains name | None -> true
            for i, name in List.indexed (names first) do
                if usedHere name && name <> "__time" then
                    let types = scans |> List.map (fun (_, cols) -> snd cols.[i]) |> List.distinct
                    if types.Length > 1 && not (List.forall isNumeric types) then cannotPlan notSimpleScans

/// An outer query that only passes union columns through leaves a top-level UNION ALL, which
/// Druid runs arm by arm whatever the arms are.
let private isPassThrough (s: Select) =
    not s.Distinct && s.Where.IsNone && s.GroupBy.IsNone && s.Having.IsNone
    && s.Items |> List.forall (function
        | AllColumns None -> true
        | Item(Expr.Column(_, n), alias) -> alias.IsNone || alias = Some n
        | _ -> false)

/// Raises Druid's planning error for the first construct Druid's planner refuses.
let check (catalog: ICatalog) (statement: Query) : unit =
    let rec query (ctes: Map<string, Query>) (q: Query) =
        let ctes = q.With |> List.fold (fun (m: Map<string, Query>) (n, _, sub) -> query m sub; m.Add(n, sub)) ctes
        body ctes q.Body
    and body ctes (b: QueryBody) =
        match b with
        | SelectBody s -> select ctes s
        | UnionAll(l, r) | Union(l, r) -> body ctes l; body ctes r
        | Nested q -> query ctes q
        | Values _ -> ()
    and select ctes (s: Select) =
        let unionUnder =
            match s.From with
            | Some(Derived({ With = []; Body = (UnionAll _ as u); OrderBy = []; Limit = None; Offset = None }, _, _)) -> Some u
            | Some(Table(None, name, _)) when ctes.ContainsKey name ->
                match ctes.[name] with
                | { With = []; Body = (UnionAll _ as u); OrderBy = []; Limit = None; Offset = None } -> Some u
                | _ -> None
            | _ -> None
        match unionUnder with
        | Some u when not (isPassThrough s) -> checkUnionDataSource catalog s u
        | _ -> ()
        Option.iter (table ctes) s.From
    and table ctes (t: TableRef) =
        match t with
        | Derived(sub, _, _) -> query ctes sub
        | Join(l, _, r, _) -> table ctes l; table ctes r
        | Table _ | Unnest _ -> ()
    query Map.empty statement
