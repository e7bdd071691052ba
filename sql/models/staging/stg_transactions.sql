-- grain: one row per loaded transaction (one JSON line of a transactions file)
-- materialized: view
--
-- transaction_id is '<file key>:<line>', unique by construction: a new version of a file replaces
-- the rows of its key atomically at load. The qualify is a guard, not a fix.

with

source as (

    select * from raw.transactions__cut

),

typed as (

    select
        transaction_id::varchar as transaction_id,
        customer_id::varchar as customer_id,
        purchased_at::timestamp as purchased_at,
        basket_size::integer as basket_size,
        _file_key as file_key,
        _loaded_at
    from source

),

final as (

    select
        transaction_id,
        customer_id,
        purchased_at,
        basket_size,
        file_key
    from typed
    qualify row_number() over (
        partition by transaction_id
        order by _loaded_at desc
    ) = 1

)

select * from final
