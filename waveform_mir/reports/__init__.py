"""What a person looks at: metrics JSON and confusion plots, model cards, learned-filter plots
and ablation tables. The only modules of the package that draw with matplotlib."""
