package config

// ParseServer parses one member of a dynamic configuration as reconfig receives it (a
// joining server, or a line of a new member list): key is "server.N" or just "N", value is
// host:peer:election[:role][;[clientHost:]clientPort]. It applies the checks of a zoo.cfg
// server.N line; the error says what is wrong.
func ParseServer(key, value string) (Server, error) {
	return newBuilder().parseServer(key, value)
}
