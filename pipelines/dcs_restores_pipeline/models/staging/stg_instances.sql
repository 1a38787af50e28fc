-- one row per instance listed by the API (loaded by merge on instance_id); key instance_id
-- only the columns the marts use; the instance's name is renamed once here, for every mart
with

source as (
    select
        instance_id,
        project_id,
        name
    from instances
),

final as (
    select
        instance_id,
        project_id,
        name as instance_name
    from source
)

select * from final
