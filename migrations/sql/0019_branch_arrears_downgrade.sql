DROP INDEX loans_branch_arrears_idx;
ALTER TABLE loans RESET (autovacuum_vacuum_scale_factor);
