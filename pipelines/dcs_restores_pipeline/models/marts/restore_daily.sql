-- one row per UTC day of created_at with at least one restore, over all instances; key day
-- count_finished = succeed + failed; failure_rate = failed / finished (null with none finished);
-- p50/p95 are of finished restores' duration_seconds, as in restore_trend_weekly
with

restores_all as (
    select
        created_day,
        is_finished,
        is_failed,
        duration_seconds
    from stg_restores
),

per_day as (
    select
        created_day as day,
        count(*) as count_restores,
        count(*) filter (where is_finished) as count_finished,
        count(*) filter (where is_failed) as count_failed,
        -- duration_seconds is null unless finished
        percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds,
        percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds
    from restores_all
    group by created_day
),

final as (
    select
        day,
        count_restores,
        count_finished,
        count_failed,
        cast(count_failed as double precision) / nullif(count_finished, 0) as failure_rate,
        p50_duration_seconds,
        p95_duration_seconds
    from per_day
)

select * from final
