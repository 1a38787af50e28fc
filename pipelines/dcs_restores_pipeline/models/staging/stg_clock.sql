-- the one row holding the time "now" for every view that measures an age; key (none: one row)
-- the only place a view reads the clock, so a test can pin it by replacing this one view
-- (views.pin_clock_sql) and every age, elapsed time and overdue flag follows
with

final as (
    select cast(current_timestamp as timestamp with time zone) as now_at
)

select * from final
