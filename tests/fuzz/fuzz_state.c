/*
 * The daemon's state file, state_dir/state.json (state_parse).  A state
 * that parses must write out (state_to_json, what state_save writes) as
 * JSON that parses to the same text again: the daemon must be able to
 * read back every state it saves.
 */
#include "fuzz.h"

#include "state.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st, again;
	char err[512], *j1, *j2;

	if (state_parse((const char *)data, size, &st, err,
	    sizeof(err)) == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		FUZZ_ASSERT(st.nm == 0 && st.nhist == 0 && st.nph == 0 &&
		    st.nhist6 == 0);
		state_free(&st);
		return 0;
	}
	FUZZ_ASSERT(st.nm <= STATE_MAPPINGS_MAX);
	FUZZ_ASSERT(st.nhist <= STATE_HISTORY_MAX);
	FUZZ_ASSERT(st.nph <= STATE_PINHOLES_MAX);
	FUZZ_ASSERT((j1 = state_to_json(&st)) != NULL);
	if (state_parse(j1, strlen(j1), &again, err, sizeof(err)) == -1) {
		fprintf(stderr, "the state written out does not parse: %s\n%s\n",
		    err, j1);
		FUZZ_ASSERT(!"a saved state parses");
	}
	FUZZ_ASSERT((j2 = state_to_json(&again)) != NULL);
	if (strcmp(j1, j2) != 0) {
		fprintf(stderr, "written once:\n%s\nwritten again:\n%s\n", j1,
		    j2);
		FUZZ_ASSERT(!"writing is stable");
	}
	free(j1);
	free(j2);
	state_free(&again);
	state_free(&st);
	return 0;
}
