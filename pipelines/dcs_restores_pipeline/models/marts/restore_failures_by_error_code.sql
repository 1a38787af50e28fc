-- one row per error code seen on a failed restore (null when the API gave none); key error_code
-- meaning is null for a missing or undocumented code
with

failures as (
    select
        restore_id,
        instance_id,
        error_code,
        meaning,
        is_documented_code,
        created_at
    from restore_failures
),

per_code as (
    select
        error_code,
        meaning,
        is_documented_code,
        count(*) as count_failures,
        count(distinct instance_id) as count_instances,
        max(created_at) as last_failure_at
    from failures
    group by error_code, meaning, is_documented_code
),

totals as (
    select count(*) as count_all_failures
    from failures
),

final as (
    select
        per_code.error_code,
        per_code.meaning,
        per_code.is_documented_code,
        per_code.count_failures,
        per_code.count_instances,
        cast(per_code.count_failures as double precision)
        / totals.count_all_failures as share_of_failures,
        per_code.last_failure_at
    from per_code
    cross join totals
)

select * from final
