"""Policy knowledge: the pack's schema (`schema`), loading, answers and citations (`kb`),
question search (`search`) with its dense meaning score (`meaning`, on the e5 encoder in
`e5`), and the NLU lookups generated from the pack (`nlu`)."""
