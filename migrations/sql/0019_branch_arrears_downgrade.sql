DROP INDEX loans_branch_arrears_idx;
